// The sidecar under constant load: 2,000 requests/s (default) for 60 s against the sidecar
// bundle, fed by the broker stand-in on real moto credentials. Counts every non-200 and socket
// error, and the sidecar's RSS after warm-up and at the end. Writes
// bench/results/reliability-load.json; bench/reliability.ts merges it into reliability.json.
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { startBenchSidecar } from './sidecar-fixture.ts'
import { writeResults } from './results.ts'

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
  const sc = await startBenchSidecar()
  try {
    const { url, secret, child } = sc
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
    writeResults('reliability-load.json', results)
  } finally {
    await sc.stop()
  }
}

await main()
