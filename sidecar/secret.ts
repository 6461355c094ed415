// The per-pod secret that app containers present as the raw Authorization value
// (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE). It is what stops another process that can reach
// 127.0.0.1 in the pod's network namespace, or a rebound DNS name, from taking credentials.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const SECRET_FILE_NAME = 'token'

/** 32 random bytes as base64url: no newline or characters that any SDK would reject in a header. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url')
}

/** What generateSecret makes; anything else found in the file is not ours and is replaced. */
const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/

/**
 * The pod's secret: the one already in `dir` if a previous run of this container wrote it, else
 * a new one. The directory is a memory emptyDir, which lives as long as the pod and survives
 * container restarts; keeping its secret means a restarted sidecar does not lock out SDKs that
 * read the token file once (botocore 1.32 to 1.34.40 does).
 */
export function loadOrCreateSecret(dir: string): { secret: string; file: string; kept: boolean } {
  const file = join(dir, SECRET_FILE_NAME)
  const existing = readIfPresent(file)
  if (existing !== undefined && SECRET_SHAPE.test(existing))
    return { secret: existing, file, kept: true }
  const secret = generateSecret()
  return { secret, file: writeSecret(dir, secret), kept: false }
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Writes the secret atomically, without a trailing newline, readable by the pod's other users. */
export function writeSecret(dir: string, secret: string): string {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, SECRET_FILE_NAME)
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, secret, { mode: 0o444 })
  renameSync(tmp, file)
  return file
}

/**
 * A constant-time comparison against the secret. Only the length can leak, and it is public
 * (every secret is 43 characters).
 */
export function secretMatcher(secret: string): (presented: string | undefined) => boolean {
  const want = Buffer.from(secret)
  return (presented) => {
    if (presented === undefined) return false
    const got = Buffer.from(presented)
    return got.length === want.length && timingSafeEqual(want, got)
  }
}
