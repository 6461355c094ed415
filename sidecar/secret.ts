// The per-pod secret that app containers present as the raw Authorization value
// (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE). It is what stops another process that can reach
// 127.0.0.1 in the pod's network namespace, or a rebound DNS name, from taking credentials.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { renameSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

export const SECRET_FILE_NAME = 'token'

/** 32 random bytes as base64url: no newline or characters that any SDK would reject in a header. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url')
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
