// Fake credentials for unit tests of the sidecar and the broker: numbered, recognisable, never real.
import type { Credentials } from './credentials.ts'

/** Credentials numbered `n` for `roleArn`, expiring at `expiresAt` (epoch ms). */
export function fakeCredentials(
  n: number,
  expiresAt: number,
  roleArn = 'arn:aws:iam::123456789012:role/fake',
): Credentials {
  return {
    accessKeyId: `ASIAFAKE${String(n).padStart(8, '0')}`,
    secretAccessKey: `fake-secret-${n}`,
    sessionToken: `fake-session-token-${n}`,
    expiresAt,
    accountId: '123456789012',
    roleArn,
  }
}
