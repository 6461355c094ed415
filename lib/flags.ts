// Typed command-line flags with environment fallbacks. Each program declares its flags once (in
// its config.ts); the same declarations generate the README's configuration reference, so docs
// cannot drift from code. Parsing fails fast with the bad flag named.

/** A configuration error: the program prints it and exits 2 at start-up. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

export interface Flag<T> {
  /** Long flag name without dashes, e.g. `refresh-window`. */
  readonly name: string
  /** Environment variable read when the flag is absent. */
  readonly env: string
  readonly description: string
  /** Default as text (shown in docs and parsed like user input); undefined means required. */
  readonly default?: string | undefined
  /** Optional flags with no default parse to undefined. */
  readonly optional?: boolean
  /** Type name for the docs, e.g. `duration`. */
  readonly type: string
  parse(raw: string): T
}

type FlagValue<F> =
  F extends Flag<infer T> ? (F extends { optional: true } ? T | undefined : T) : never
export type FlagValues<S extends Record<string, Flag<unknown>>> = {
  readonly [K in keyof S]: FlagValue<S[K]>
}

/**
 * Parses `--name=value`, `--name value` and bare `--name` (booleans) from argv, falling back to
 * each flag's env var and then its default. Unknown flags and bad values throw ConfigError.
 */
export function parseFlags<S extends Record<string, Flag<unknown>>>(
  specs: S,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): FlagValues<S> {
  const given = parseArgv(specs, argv)
  const out: Record<string, unknown> = {}
  for (const [key, f] of Object.entries(specs)) {
    const raw = given.get(f.name) ?? nonEmpty(env[f.env]) ?? f.default
    if (raw === undefined) {
      if (f.optional) {
        out[key] = undefined
        continue
      }
      throw new ConfigError(`--${f.name} (or ${f.env}) is required: ${f.description}`)
    }
    try {
      out[key] = f.parse(raw)
    } catch (err) {
      const source = given.has(f.name) ? `--${f.name}` : env[f.env] ? f.env : `--${f.name} default`
      throw new ConfigError(`${source}: ${(err as Error).message}`)
    }
  }
  return Object.freeze(out) as FlagValues<S>
}

/** `--name=value`, `--name value` and bare `--name` for booleans, keyed by flag name. */
function parseArgv(
  specs: Record<string, Flag<unknown>>,
  argv: readonly string[],
): Map<string, string> {
  const byName = new Map(Object.values(specs).map((f) => [f.name, f]))
  const given = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(arg)
    if (!m) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}`)
    const f = byName.get(m[1]!)
    if (!f) throw new ConfigError(`unknown flag --${m[1]}`)
    let value = m[2]
    if (value === undefined) {
      const next = argv[i + 1]
      const bare = next === undefined || next.startsWith('--')
      if (f.type === 'boolean' && bare) value = 'true'
      else if (next === undefined) throw new ConfigError(`--${m[1]}: missing value`)
      else value = argv[++i]!
    }
    given.set(f.name, value)
  }
  return given
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v
}

type FlagOpts = Pick<Flag<unknown>, 'name' | 'env' | 'description' | 'default' | 'optional'>

export function stringFlag(o: FlagOpts & { pattern?: RegExp }): Flag<string> {
  return {
    ...o,
    type: 'string',
    parse(raw) {
      if (o.pattern && !o.pattern.test(raw))
        throw new Error(`must match ${o.pattern} (got ${JSON.stringify(raw)})`)
      return raw
    },
  }
}

export function intFlag(o: FlagOpts & { min: number; max: number }): Flag<number> {
  return {
    ...o,
    type: 'integer',
    parse(raw) {
      if (!/^\d+$/.test(raw)) throw new Error(`must be an integer (got ${JSON.stringify(raw)})`)
      const n = Number(raw)
      if (n < o.min || n > o.max)
        throw new Error(`must be between ${o.min} and ${o.max} (got ${n})`)
      return n
    },
  }
}

export function boolFlag(o: FlagOpts): Flag<boolean> {
  return {
    ...o,
    type: 'boolean',
    parse(raw) {
      if (raw === 'true') return true
      if (raw === 'false') return false
      throw new Error(`must be true or false (got ${JSON.stringify(raw)})`)
    },
  }
}

export function enumFlag<const T extends string>(o: FlagOpts & { values: readonly T[] }): Flag<T> {
  return {
    ...o,
    type: o.values.join('|'),
    parse(raw) {
      if (!(o.values as readonly string[]).includes(raw)) {
        throw new Error(`must be one of ${o.values.join(', ')} (got ${JSON.stringify(raw)})`)
      }
      return raw as T
    },
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** Parses `1h30m`, `90s`, `250ms` into milliseconds. */
export function parseDuration(raw: string): number {
  const parts = [...raw.matchAll(/(\d+)(ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== raw) {
    throw new Error(`must be a duration like 30m, 90s or 1h30m (got ${JSON.stringify(raw)})`)
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0)
}

/** The inverse of parseDuration, shortest form: 1800000 → `30m`, 5400000 → `1h30m`, 0 → `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  let rest = ms
  let out = ''
  for (const [unit, size] of Object.entries(UNIT_MS).sort((a, b) => b[1] - a[1])) {
    const n = Math.floor(rest / size)
    if (n > 0) out += `${n}${unit}`
    rest -= n * size
  }
  return out
}

export function durationFlag(o: FlagOpts & { minMs?: number; maxMs?: number }): Flag<number> {
  return {
    ...o,
    type: 'duration',
    parse(raw) {
      const ms = parseDuration(raw)
      if (o.minMs !== undefined && ms < o.minMs)
        throw new Error(`must be at least ${o.minMs} ms (got ${raw})`)
      if (o.maxMs !== undefined && ms > o.maxMs)
        throw new Error(`must be at most ${o.maxMs} ms (got ${raw})`)
      return ms
    },
  }
}

/** The same flag with one more check after parsing; the check returns the problem, or nothing. */
export function refine<T>(f: Flag<T>, check: (value: T) => string | undefined): Flag<T> {
  return {
    ...f,
    parse(raw) {
      const value = f.parse(raw)
      const problem = check(value)
      if (problem !== undefined) throw new Error(`${problem} (got ${JSON.stringify(raw)})`)
      return value
    },
  }
}

export function urlFlag(o: FlagOpts & { protocols: readonly string[] }): Flag<URL> {
  return {
    ...o,
    type: 'url',
    parse(raw) {
      let url: URL
      try {
        url = new URL(raw)
      } catch {
        throw new Error(`must be a URL (got ${JSON.stringify(raw)})`)
      }
      if (!o.protocols.includes(url.protocol)) {
        throw new Error(`must use ${o.protocols.join(' or ')} (got ${url.protocol})`)
      }
      return url
    },
  }
}
