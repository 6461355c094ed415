// moto's request recorder (the control plane starts moto with MOTO_ENABLE_RECORDING): what was
// really sent to STS, since moto ignores session tags and SourceIdentity in its answers.

/** Makes sure recording is on, without resetting what other test files recorded. */
export async function startRecording(stsEndpoint: string): Promise<void> {
  const res = await fetch(`${stsEndpoint}/moto-api/recorder/start-recording`, { method: 'POST' })
  if (res.status !== 200) throw new Error(`moto start-recording answered ${res.status}`)
}

/** The form parameters of every recorded STS request whose RoleSessionName passes `match`. */
export async function recordedAssumeRoles(
  stsEndpoint: string,
  match: (sessionName: string) => boolean,
): Promise<URLSearchParams[]> {
  const res = await fetch(`${stsEndpoint}/moto-api/recorder/download-recording`)
  if (res.status !== 200) throw new Error(`moto download-recording answered ${res.status}`)
  return (await res.text())
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const entry = JSON.parse(l) as { body?: string; body_encoded?: boolean }
      const body = entry.body ?? ''
      return new URLSearchParams(
        entry.body_encoded ? Buffer.from(body, 'base64').toString('utf8') : body,
      )
    })
    .filter((p) => p.get('Action') === 'AssumeRole' && match(p.get('RoleSessionName') ?? ''))
}
