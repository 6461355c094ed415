// Runs one SDK client program as its own process with nothing but the container-credentials
// configuration, the region and the moto endpoint in its environment (and an empty HOME, so no
// shared config or credentials file can help it).
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SdkClient } from '../sdk-clients/clients.ts'

export interface ClientRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

export function sdkEnv(o: {
  credentialsUrl: string
  tokenFile: string
  stsEndpoint: string
  home: string
}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: o.home,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: o.credentialsUrl,
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: o.tokenFile,
    // boto3 and the CLI read only AWS_DEFAULT_REGION; the JS and Java SDKs only AWS_REGION.
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_STS: o.stsEndpoint,
    // Never fall through to a real instance metadata service.
    AWS_EC2_METADATA_DISABLED: 'true',
  }
}

export async function runClient(
  client: SdkClient,
  o: {
    credentialsUrl: string
    tokenFile: string
    stsEndpoint: string
    loop?: { count: number; intervalMs: number }
    timeoutMs?: number
    /** More variables, as a pod's container would set them (a proxy, say). */
    extraEnv?: Readonly<Record<string, string>>
  },
): Promise<ClientRun> {
  const home = mkdtempSync(join(tmpdir(), 'iam-sidecar-client-home-'))
  const env = { ...sdkEnv({ ...o, home }), ...o.extraEnv }
  if (o.loop) {
    env.IAM_SIDECAR_CLIENT_LOOP = String(o.loop.count)
    env.IAM_SIDECAR_CLIENT_INTERVAL_MS = String(o.loop.intervalMs)
  }
  const { cmd, args } = client.command()
  const t0 = Date.now()
  try {
    return await new Promise((resolve) => {
      execFile(
        cmd,
        args,
        { env, timeout: o.timeoutMs ?? 120_000, maxBuffer: 4 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0
          resolve({ code, stdout, stderr, ms: Date.now() - t0 })
        },
      )
    })
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}
