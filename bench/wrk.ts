// Runs wrk (Debian package) against a URL and parses its report.
import { execFileSync } from 'node:child_process'

export interface WrkResult {
  readonly requests: number
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly errors: number
  readonly non2xx: number
}

const UNIT: Record<string, number> = { us: 0.001, ms: 1, s: 1000 }

function ms(text: string, label: string): number {
  const m = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(text)
  if (!m) throw new Error(`wrk output lacks ${label}:\n${text}`)
  return Number(m[1]) * UNIT[m[2]!]!
}

export function wrk(
  url: string,
  o: { connections: number; threads: number; seconds: number; headers?: Record<string, string> },
): WrkResult {
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.seconds}s`, '--latency']
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`)
  const out = execFileSync('wrk', [...args, url], { encoding: 'utf8' })
  const total = /(\d+) requests in/.exec(out)
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)
  if (!total || !rps) throw new Error(`cannot parse wrk output:\n${out}`)
  return {
    requests: Number(total[1]),
    rps: Number(rps[1]),
    p50Ms: ms(out, '50%'),
    p99Ms: ms(out, '99%'),
    errors: errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  }
}
