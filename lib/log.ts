// Structured JSON logs, one object per line. Secrets are kept out by construction (callers pass
// ids and outcomes, never credentials) and, as a second line of defence, any field whose name
// looks like a secret is replaced with "[redacted]" before it is written.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']

export type LogFields = Readonly<Record<string, unknown>>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger
}

const SECRET_KEY = /secret|token|authorization|password|credential|sessiontoken|privatekey/i

export function redact(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown; status?: unknown }
    return {
      name: e.name,
      message: e.message,
      ...(e.code !== undefined ? { code: e.code } : {}),
      ...(e.status !== undefined ? { status: e.status } : {}),
    }
  }
  if (value === null || typeof value !== 'object' || depth > 4) return value
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1)
  }
  return out
}

export function createLogger(opts: {
  level: LogLevel
  component: string
  write?: (line: string) => void
  now?: () => Date
}): Logger {
  const min = LOG_LEVELS.indexOf(opts.level)
  const write = opts.write ?? ((line: string) => process.stdout.write(line + '\n'))
  const now = opts.now ?? (() => new Date())
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (LOG_LEVELS.indexOf(level) < min) return
      const rec = redact({ ...base, ...fields }) as Record<string, unknown>
      write(
        JSON.stringify({
          time: now().toISOString(),
          level,
          component: opts.component,
          msg,
          ...rec,
        }),
      )
    }
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (f) => make({ ...base, ...f }),
    }
  }
  return make({})
}
