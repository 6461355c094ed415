// npm run bench:sidecar: the sidecar bundle under wrk, against nginx serving the same JSON body
// on loopback in the same run with the same load tool (the physical-limit anchor). Writes
// bench/results/sidecar.json. Upstream: the test stand-in broker backed by real moto, warm.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SIDECAR_NODE_FLAGS } from '../lib/sidecar-pod-layout.ts'
import { freePort } from '../test/peers/ports.ts'
import { startBenchSidecar } from './sidecar-fixture.ts'
import { ensureDebianTools } from './tools.ts'
import { wrk } from './wrk.ts'
import { machine, writeResults } from './results.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15)
// BENCH_NODE_FLAGS overrides the V8 flags pods get, for experiments; results are for the default.
const NODE_FLAGS = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? SIDECAR_NODE_FLAGS

/** Resident memory in MiB: the total (VmRSS) and its parts, private (anon) and file-backed. */
function rss(pid: number): { total: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const mb = (key: string): number => {
    const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)
    return Math.round((Number(m![1]) / 1024) * 10) / 10
  }
  return { total: mb('VmRSS'), anon: mb('RssAnon'), file: mb('RssFile') }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function main(): Promise<void> {
  ensureDebianTools({ wrk: 'wrk', nginx: 'nginx-light' })
  const sc = await startBenchSidecar({ nodeFlags: NODE_FLAGS })
  const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-bench-nginx-'))
  const cleanups: (() => unknown)[] = [
    () => sc.stop(),
    () => rmSync(dir, { recursive: true, force: true }),
  ]
  try {
    const { child, url, secret } = sc
    const startToReady = sc.startToReadyMs
    await sleep(2000)
    const rssIdle = rss(child.pid!)
    const headers = { Authorization: secret }
    const body = await (await fetch(url, { headers })).text()

    console.log('# sidecar, c=1')
    const c1 = wrk(url, { connections: 1, threads: 1, seconds: Math.min(10, SECONDS), headers })
    console.log('# sidecar, c=32')
    const c32 = wrk(url, { connections: 32, threads: 2, seconds: SECONDS, headers })
    let served = c1.requests + c32.requests
    while (served < 100_000)
      served += wrk(url, { connections: 32, threads: 2, seconds: 5, headers }).requests
    await sleep(1000)
    const rssAfter = rss(child.pid!)
    const sidecarErrors = c1.errors + c1.non2xx + c32.errors + c32.non2xx

    console.log('# nginx, c=32 (same body, same load tool)')
    const ng = await startNginx(dir, body)
    cleanups.push(ng.stop)
    const nginx = wrk(`http://127.0.0.1:${ng.port}/v1/credentials`, {
      connections: 32,
      threads: 2,
      seconds: SECONDS,
      headers,
    })

    const results = {
      throughput_rps_c32: Math.round(c32.rps),
      nginx_throughput_rps_c32: Math.round(nginx.rps),
      throughput_ratio_vs_nginx: Math.round((c32.rps / nginx.rps) * 1000) / 1000,
      p50_ms_c32: c32.p50Ms,
      p99_ms_c32: c32.p99Ms,
      p99_ms_c1: c1.p99Ms,
      rss_idle_mb: rssIdle.total,
      rss_after_100k_mb: rssAfter.total,
      start_to_ready_ms: Math.round(startToReady),
      node_version: process.version,
      machine: machine(),
    }
    if (sidecarErrors > 0)
      console.warn(
        `# WARNING: ${sidecarErrors} errors or non-2xx answers from the sidecar during the run`,
      )
    const out = writeResults('sidecar.json', results)
    // The breakdown goes to its own file: sidecar.json has a fixed set of keys.
    const memory = {
      idle: rssIdle,
      after_100k: rssAfter,
      node_flags: NODE_FLAGS.join(' '),
      requests_served: served,
    }
    writeResults('sidecar-memory.json', memory, false)
    console.log(`# memory (MiB): ${JSON.stringify(memory)}`)
    console.log(`# requests served by the sidecar: ${served}; written to ${out}`)
  } finally {
    for (const c of cleanups.reverse()) await c()
  }
}

async function startNginx(dir: string, body: string): Promise<{ port: number; stop: () => void }> {
  const port = await freePort()
  const conf = join(dir, 'nginx.conf')
  const escaped = body.replace(/\\/g, '\\\\').replace(/'/g, "\\'")
  // One worker: the sidecar is one Node process, and wrk needs the other core.
  writeFileSync(
    conf,
    `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:${port};
  location = /v1/credentials { default_type application/json; return 200 '${escaped}'; } } }\n`,
  )
  const child = spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'inherit' })
  while (
    !(await fetch(`http://127.0.0.1:${port}/v1/credentials`).then(
      (r) => r.ok,
      () => false,
    ))
  )
    await sleep(20)
  return { port, stop: () => void child.kill('SIGQUIT') }
}

await main()
