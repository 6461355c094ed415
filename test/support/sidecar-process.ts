// Runs the sidecar bundle (dist/sidecar.mjs, exactly what a pod runs) as a child process.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../peers/paths.ts'
import { freePort } from '../peers/ports.ts'

export const SIDECAR_BUNDLE = join(repoRoot, 'dist', 'sidecar.mjs')

export interface SidecarProcess {
  readonly port: number
  readonly url: string
  readonly secretFile: string
  readonly tokenFile: string
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
}): Promise<SidecarProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-pod-'))
  const tokenFile = join(dir, 'sa-token')
  writeFileSync(tokenFile, o.token)
  const port = await freePort()
  const child = spawn(
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
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const url = `http://127.0.0.1:${port}`
  const sp: SidecarProcess = {
    port,
    url,
    secretFile: join(dir, 'secret', 'token'),
    tokenFile,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
  const deadline = Date.now() + 15_000
  const want = o.waitReady === false ? '/healthz' : '/readyz'
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`sidecar exited ${child.exitCode}:\n${out}`)
    }
    const ok = await fetch(url + want).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) return sp
    if (Date.now() > deadline) {
      await sp.stop()
      throw new Error(`sidecar not ${want} in 15 s:\n${out}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

export function readSecret(sp: SidecarProcess): string {
  return readFileSync(sp.secretFile, 'utf8')
}
