// A sidecar bundle process for benchmarks, fed by the broker stand-in on real moto credentials,
// started the way pods start it (the same V8 flags unless overridden).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SIDECAR_NODE_FLAGS } from '../lib/sidecar-pod-layout.ts'
import { buildSidecar, SIDECAR_BUNDLE } from '../scripts/build-sidecar.ts'
import { startMoto } from '../test/peers/control-plane.ts'
import { peerBinary } from '../test/peers/paths.ts'
import { createPki } from '../test/peers/pki.ts'
import { freePort } from '../test/peers/ports.ts'
import type { PeerProcess } from '../test/peers/process.ts'
import { startTestBroker } from '../test/support/test-broker.ts'

export interface BenchSidecar {
  readonly url: string
  readonly base: string
  readonly secret: string
  readonly child: ChildProcess
  /** From spawn to the first 200 on /readyz, the upstream already warm. */
  readonly startToReadyMs: number
  stop(): Promise<void>
}

const TOKEN = 'bench-sa-token'
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export async function startBenchSidecar(
  o: { nodeFlags?: readonly string[] } = {},
): Promise<BenchSidecar> {
  await buildSidecar()
  const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-bench-'))
  const procs: PeerProcess[] = []
  const cleanups: (() => unknown)[] = [
    () => Promise.all(procs.map((p) => p.stop())),
    () => rmSync(dir, { recursive: true, force: true }),
  ]
  const stop = async (): Promise<void> => {
    for (const c of cleanups.splice(0)) await c()
  }
  try {
    mkdirSync(join(dir, 'logs'))
    const pki = createPki(dir)
    const sts = await startMoto(peerBinary('motoServer'), join(dir, 'logs'), procs)
    const broker = await startTestBroker({
      tls: pki.issueServing('broker'),
      stsEndpoint: sts,
      roleArn: 'arn:aws:iam::123456789012:role/bench',
      token: TOKEN,
      durationSeconds: 3600,
    })
    cleanups.unshift(() => broker.close())
    await fetch(sts) // warm the upstream path once
    writeFileSync(join(dir, 'token'), TOKEN)
    const port = await freePort()
    const t0 = performance.now()
    const child = spawn(
      process.execPath,
      [
        ...(o.nodeFlags ?? SIDECAR_NODE_FLAGS),
        SIDECAR_BUNDLE,
        `--port=${port}`,
        `--secret-dir=${join(dir, 'secret')}`,
        `--token-file=${join(dir, 'token')}`,
        `--broker-url=${broker.url}`,
        `--broker-ca-file=${pki.caCert}`,
        '--log-level=warn',
      ],
      { stdio: 'inherit' },
    )
    cleanups.unshift(() => child.kill('SIGTERM'))
    const base = `http://127.0.0.1:${port}`
    while (
      !(await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    )
      await sleep(2)
    const startToReadyMs = performance.now() - t0
    const secret = readFileSync(join(dir, 'secret', 'token'), 'utf8')
    return { url: `${base}/v1/credentials`, base, secret, child, startToReadyMs, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
