// The sidecar under constant load: 2,000 requests/s (default) for 60 s against the sidecar
// bundle, fed by the broker stand-in on real moto credentials. Counts every non-200 and socket
// error, and the sidecar's RSS after warm-up and at the end. Writes
// bench/results/reliability-load.json; bench/reliability.ts merges it into reliability.json.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SIDECAR_NODE_FLAGS } from '../lib/sidecar-runtime.ts'
import { buildSidecar, SIDECAR_BUNDLE } from '../scripts/build-sidecar.ts'
import { startMoto } from '../test/peers/control-plane.ts'
import { peerBinary, repoRoot } from '../test/peers/paths.ts'
import { createPki } from '../test/peers/pki.ts'
import { freePort } from '../test/peers/ports.ts'
import type { PeerProcess } from '../test/peers/process.ts'
import { startTestBroker } from '../test/support/test-broker.ts'

const RPS = Number(process.env.LOAD_RPS ?? 2000)
const SECONDS = Number(process.env.LOAD_SECONDS ?? 60)
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Math.round((Number(m?.[1] ?? 0) / 1024) * 10) / 10
}

/** Fires `rps` GETs per second for `seconds`, on schedule (late requests are sent at once). */
async function constantLoad(
  url: string,
  secret: string,
  rps: number,
  seconds: number,
): Promise<{ sent: number; errors: number; elapsed: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  let errors = 0
  let inflight = 0
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      inflight++
      const req = request(
        url,
        { agent, headers: { authorization: secret }, timeout: 2000 },
        (res) => {
          if (res.statusCode !== 200) errors++
          res.resume()
          res.on('end', () => {
            inflight--
            resolve()
          })
        },
      )
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', () => {
        errors++
        inflight--
        resolve()
      })
      req.end()
    })
  const total = rps * seconds
  const t0 = performance.now()
  const pending: Promise<void>[] = []
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rps
    const wait = due - performance.now()
    if (wait > 1) await sleep(wait)
    pending.push(one())
    if (pending.length >= 4096) await Promise.all(pending.splice(0, 2048))
  }
  await Promise.all(pending)
  agent.destroy()
  void inflight
  return { sent: total, errors, elapsed: (performance.now() - t0) / 1000 }
}

async function main(): Promise<void> {
  await buildSidecar()
  const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-load-'))
  const procs: PeerProcess[] = []
  mkdirSync(join(dir, 'logs'))
  const pki = createPki(dir)
  const sts = await startMoto(peerBinary('motoServer'), join(dir, 'logs'), procs)
  const broker = await startTestBroker({
    tls: pki.issueServing('broker'),
    stsEndpoint: sts,
    roleArn: 'arn:aws:iam::123456789012:role/load',
    token: 'load-token',
    durationSeconds: 3600,
  })
  writeFileSync(join(dir, 'token'), 'load-token')
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [
      ...SIDECAR_NODE_FLAGS,
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
  try {
    const url = `http://127.0.0.1:${port}/v1/credentials`
    while (
      !(await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    )
      await sleep(20)
    const secret = readFileSync(join(dir, 'secret', 'token'), 'utf8')
    await constantLoad(url, secret, RPS, 2) // warm-up
    await sleep(1000)
    const rssStart = rssMb(child.pid!)
    console.log(`# load: ${RPS} requests/s for ${SECONDS} s`)
    const run = await constantLoad(url, secret, RPS, SECONDS)
    await sleep(1000)
    const rssEnd = rssMb(child.pid!)
    const results = {
      load_rps: Math.round(run.sent / run.elapsed),
      load_seconds: Math.round(run.elapsed * 10) / 10,
      load_errors: run.errors,
      rss_start_mb: rssStart,
      rss_end_mb: rssEnd,
    }
    mkdirSync(join(repoRoot, 'bench', 'results'), { recursive: true })
    writeFileSync(
      join(repoRoot, 'bench', 'results', 'reliability-load.json'),
      JSON.stringify(results, null, 2) + '\n',
    )
    console.log(JSON.stringify(results, null, 2))
  } finally {
    child.kill('SIGTERM')
    await broker.close()
    for (const p of procs) await p.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
