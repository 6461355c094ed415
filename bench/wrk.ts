// Runs wrk (Debian package) against a URL and parses its report. With `rate`, wrk runs open-loop
// at that constant rate (bench/wrk-constant-rate.lua paces every request to a fixed schedule), the
// way latency at a given load is measured; without it, closed-loop as fast as it can.
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

export interface WrkResult {
  readonly requests: number
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly errors: number
  readonly non2xx: number
  /** 2xx (and 3xx) answers per second: what a rate-limited server really served. */
  readonly okRps: number
  /**
   * Constant rate only: requests sent after their slot because every connection was still
   * waiting. Their wait is not in the latency (wrk times from the send), so a result with late
   * requests understates the tail.
   */
  readonly late?: number
}

const UNIT: Record<string, number> = { us: 0.001, ms: 1, s: 1000 }
const PACING_SCRIPT = join(import.meta.dirname, 'wrk-constant-rate.lua')

function ms(text: string, label: string): number {
  const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(text)
  if (!m) throw new Error(`wrk output lacks ${label}:\n${text}`)
  return Number(m[1]) * UNIT[m[2]!]!
}

export interface WrkOptions {
  readonly connections: number
  readonly threads: number
  readonly seconds: number
  readonly headers?: Record<string, string>
  /** Requests per second for all connections together (open loop). */
  readonly rate?: number
}

function wrkArgs(url: string, o: WrkOptions): string[] {
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.seconds}s`, '--latency']
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`)
  if (o.rate === undefined) return [...args, url]
  if (!(o.rate > 0)) throw new Error(`wrk rate must be positive, got ${o.rate}`)
  // Each wrk thread has its own Lua state and paces its share of the rate.
  return [
    ...args,
    '-s',
    PACING_SCRIPT,
    url,
    '--',
    String((o.threads * 1000) / o.rate),
    String(o.threads),
  ]
}

/** Parses wrk's report (and the pacing script's line when `paced`). */
export function parseWrk(out: string, paced: boolean): WrkResult {
  const total = /(\d+) requests in/.exec(out)
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)
  const late = /^paced-late: (\d+)$/m.exec(out)
  if (!total || !rps) throw new Error(`cannot parse wrk output:\n${out}`)
  if (paced && !late) throw new Error(`wrk pacing script did not report:\n${out}`)
  const requests = Number(total[1])
  const bad = non2xx ? Number(non2xx[1]) : 0
  return {
    requests,
    rps: Number(rps[1]),
    p50Ms: ms(out, '50%'),
    p99Ms: ms(out, '99%'),
    errors: errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: bad,
    // wrk counts a request once its answer arrived; socket errors (read, timeout) are not in it.
    okRps: requests === 0 ? 0 : (Number(rps[1]) * (requests - bad)) / requests,
    ...(late ? { late: Number(late[1]) } : {}),
  }
}

export function wrk(url: string, o: WrkOptions): WrkResult {
  const out = execFileSync('wrk', wrkArgs(url, o), { encoding: 'utf8' })
  return parseWrk(out, o.rate !== undefined)
}
