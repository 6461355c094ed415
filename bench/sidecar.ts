// npm run bench:sidecar: the sidecar bundle under wrk, against nginx serving the same JSON body
// on loopback in the same run with the same load tool (the physical-limit anchor), and against the
// EKS Pod Identity Agent (one process per node, bench/eks-agent-fixture.ts) serving the same
// credentials: its successful requests per second at c=32 (it rate-limits at 1,000/s and answers
// 429 beyond), p50/p99 of both at a constant 500 requests per second, and its memory. Writes
// bench/results/sidecar.json and bench/results/eks-agent.json. Upstream: the test stand-in broker
// backed by real moto, warm; the agent's, the stand-in EKS Auth endpoint, called once.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseBody } from '../lib/credentials.ts'
import { SIDECAR_NODE_FLAGS } from '../lib/sidecar-pod-layout.ts'
import { freePort } from '../test/peers/ports.ts'
import { agentBody, startBenchEksAgent } from './eks-agent-fixture.ts'
import { startBenchSidecar } from './sidecar-fixture.ts'
import { ensureDebianTools } from './tools.ts'
import { wrk } from './wrk.ts'
import { machine, writeResults } from './results.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15)
// BENCH_NODE_FLAGS overrides the V8 flags pods get, for experiments; results are for the default.
const NODE_FLAGS = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? SIDECAR_NODE_FLAGS
/** The constant rate at which latency is compared with the agent's (below its 1,000/s limit). */
const RATE = 500
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 20)
/** Above this 1-minute load average the machine was not quiet; the result says so. */
const QUIET_LOAD = 0.7
const loadavg1 = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
const round = (v: number, digits = 3): number => Math.round(v * 10 ** digits) / 10 ** digits

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
  const loadAtStart = loadavg1()
  if (loadAtStart > QUIET_LOAD)
    console.warn(
      `# WARNING: 1-minute load ${loadAtStart} > ${QUIET_LOAD}: the machine is not quiet`,
    )
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
    // The agent serves the very credentials the sidecar does; idle, it waits out the sidecar's runs.
    const agent = await startBenchEksAgent(parseBody(JSON.parse(body)))
    cleanups.push(() => agent.stop())
    const agentHeaders = { ...agent.headers }
    const agentBodyText = await agentBody(agent)
    await sleep(2000)
    const agentRssIdle = rss(agent.child.pid!)

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

    console.log(`# sidecar, constant ${RATE} requests/s (c=32)`)
    const scRate = wrk(url, {
      connections: 32,
      threads: 2,
      seconds: RATE_SECONDS,
      headers,
      rate: RATE,
    })
    console.log('# EKS Pod Identity Agent, c=32 (same body, same load tool; 429 above 1,000/s)')
    const agC32 = wrk(agent.url, {
      connections: 32,
      threads: 2,
      seconds: SECONDS,
      headers: agentHeaders,
    })
    console.log(`# EKS Pod Identity Agent, constant ${RATE} requests/s (c=32)`)
    const agRate = wrk(agent.url, {
      connections: 32,
      threads: 2,
      seconds: RATE_SECONDS,
      headers: agentHeaders,
      rate: RATE,
    })
    await sleep(1000)
    const agentRssAfter = rss(agent.child.pid!)
    const loadAtEnd = loadavg1()
    const rateErrors = scRate.errors + scRate.non2xx + agRate.errors + agRate.non2xx
    if (rateErrors > 0)
      console.warn(`# WARNING: ${rateErrors} errors or non-2xx answers in the constant-rate runs`)
    if ((scRate.late ?? 0) + (agRate.late ?? 0) > 0)
      console.warn(
        '# WARNING: requests sent late in the constant-rate runs: the tail is understated',
      )

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
      agent_ok_rps_c32: Math.round(agC32.okRps),
      agent_p50_ms_500rps: round(agRate.p50Ms),
      agent_p99_ms_500rps: round(agRate.p99Ms),
      sidecar_p50_ms_500rps: round(scRate.p50Ms),
      sidecar_p99_ms_500rps: round(scRate.p99Ms),
      agent_rss_mib_idle: agentRssIdle.total,
      agent_rss_mib_after: agentRssAfter.total,
      loadavg_1m: loadAtStart,
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
    const eksAgent = {
      agent: `eks-pod-identity-agent ${agent.version}, built with the eksauth stand-in`,
      // At the end the 1-minute load includes the benchmark's own two busy processes (about 2).
      quiet_at_start: loadAtStart <= QUIET_LOAD,
      loadavg_1m_start_end: [loadAtStart, loadAtEnd],
      body_bytes: { sidecar: Buffer.byteLength(body), agent: Buffer.byteLength(agentBodyText) },
      agent_c32: { ...agC32, okRps: round(agC32.okRps, 1), seconds: SECONDS },
      agent_500rps: { ...agRate, okRps: round(agRate.okRps, 1), seconds: RATE_SECONDS },
      sidecar_500rps: { ...scRate, okRps: round(scRate.okRps, 1), seconds: RATE_SECONDS },
      agent_rss_mib: { idle: agentRssIdle, after: agentRssAfter },
      agent_eks_auth_calls: agent.eksAuthCalls(),
      agent_start_to_ready_ms: Math.round(agent.startToReadyMs),
    }
    writeResults('eks-agent.json', eksAgent, false)
    console.log(`# EKS Pod Identity Agent: ${JSON.stringify(eksAgent)}`)
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
