// Runs the sidecar bundle (dist/sidecar.mjs, exactly what a pod runs) as a child process.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../peers/paths.ts'
import { freePort } from '../peers/ports.ts'
import { startProgram, waitUntilReady } from './program.ts'

export const SIDECAR_BUNDLE = join(repoRoot, 'dist', 'sidecar.mjs')

export interface SidecarProcess {
  readonly port: number
  readonly url: string
  readonly secretFile: string
  readonly tokenFile: string
  readonly podDir: string
  readonly child: ChildProcess
  /** Everything the sidecar logged so far. */
  output(): string
  stop(): Promise<void>
}

export async function startSidecar(o: {
  brokerUrl: string
  caFile: string
  token: string
  extraArgs?: readonly string[]
  waitReady?: boolean
  /**
   * The pod's directory (its secret emptyDir and token) from an earlier run, as a restarted
   * container finds it; the caller removes it. Default: a new one, removed by stop().
   */
  podDir?: string
}): Promise<SidecarProcess> {
  const dir = o.podDir ?? mkdtempSync(join(tmpdir(), 'iam-sidecar-pod-'))
  const owned = o.podDir === undefined
  const tokenFile = join(dir, 'sa-token')
  writeFileSync(tokenFile, o.token)
  const port = await freePort()
  const program = startProgram(
    process.execPath,
    [
      SIDECAR_BUNDLE,
      `--port=${port}`,
      `--secret-dir=${join(dir, 'secret')}`,
      `--token-file=${tokenFile}`,
      `--broker-url=${o.brokerUrl}`,
      `--broker-ca-file=${o.caFile}`,
      ...(o.extraArgs ?? []),
    ],
    { PATH: process.env.PATH ?? '' },
  )
  const url = `http://127.0.0.1:${port}`
  const sp: SidecarProcess = {
    port,
    url,
    secretFile: join(dir, 'secret', 'token'),
    tokenFile,
    child: program.child,
    output: program.output,
    podDir: dir,
    async stop() {
      await program.stop()
      if (owned) rmSync(dir, { recursive: true, force: true })
    },
  }
  const want = o.waitReady === false ? '/healthz' : '/readyz'
  try {
    await waitUntilReady(program, async () => (await fetch(url + want)).ok, {
      what: `sidecar ${want}`,
      timeoutMs: 15_000,
      pollMs: 50,
    })
  } catch (err) {
    await program.stop()
    if (owned) rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return sp
}

export function readSecret(sp: SidecarProcess): string {
  return readFileSync(sp.secretFile, 'utf8')
}
