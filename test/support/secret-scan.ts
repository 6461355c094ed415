// Looks for secrets (tokens, secret keys, session tokens, pod secrets) in everything a run
// captured: response bodies, logs, process output. The caller leaves out the 200 bodies that
// legitimately carried a credential. A secret counts if it, or any 20-character window of it
// (so a truncated or re-wrapped secret is caught too), appears in a haystack. Secrets shorter
// than 8 characters are ignored. For JWTs only the signature counts: header and claims are not
// secret and are shared by every token of a cluster.

const WINDOW = 20
const STRIDE = 10
const MIN_SECRET = 8

function needles(secret: string): string[] {
  const parts = secret.split('.')
  const core = parts.length === 3 && secret.startsWith('eyJ') ? parts[2]! : secret
  if (core.length < MIN_SECRET) return []
  if (core.length <= WINDOW) return [core]
  const out = [core]
  for (let i = 0; i + WINDOW <= core.length; i += STRIDE) out.push(core.slice(i, i + WINDOW))
  return out
}

export function scanForSecrets(
  haystacks: string[],
  secrets: string[],
): { leaks: number; where: string[] } {
  const where: string[] = []
  const unique = [...new Set(secrets)]
  for (const [s, secret] of unique.entries()) {
    const ns = needles(secret)
    for (const [h, hay] of haystacks.entries()) {
      const hit = ns.find((n) => hay.includes(n))
      if (hit === undefined) continue
      const at = hay.indexOf(hit)
      // Say where, never what: the report must not become a leak itself.
      where.push(`secret #${s} (${secret.length} chars) in haystack #${h} at offset ${at}`)
    }
  }
  return { leaks: where.length, where }
}
