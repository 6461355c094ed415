// What every benchmark shares: the machine line recorded with its figures, the median, and writing
// bench/results/<name>.json.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../test/peers/paths.ts'

export const RESULTS_DIR = join(repoRoot, 'bench', 'results')

/** e.g. "2 x AMD EPYC, 24 GiB". */
export function machine(): string {
  const mem = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1])
  return `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(mem / 1048576)} GiB`
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Writes bench/results/<file> (pretty JSON) and prints it; returns the path. */
export function writeResults(file: string, results: unknown, print = true): string {
  mkdirSync(RESULTS_DIR, { recursive: true })
  const out = join(RESULTS_DIR, file)
  const text = JSON.stringify(results, null, 2)
  writeFileSync(out, text + '\n')
  if (print) console.log(text)
  return out
}
