import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { formatExpiration, parseBody, toBody } from './credentials.ts'

const good = {
  AccessKeyId: 'ASIAEXAMPLE',
  SecretAccessKey: 'sekrit-value',
  Token: 'session-token-value',
  Expiration: '2026-01-02T03:04:05Z',
  AccountId: '123456789012',
  RoleArn: 'arn:aws:iam::123456789012:role/app',
}

describe('credentials body', () => {
  it('formats Expiration as RFC 3339 UTC with Z and whole seconds', () => {
    assert.equal(formatExpiration(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), '2026-01-02T03:04:05Z')
  })

  it('round-trips through parseBody and toBody', () => {
    assert.deepEqual(toBody(parseBody(good)), good)
  })

  it('rejects bodies with missing or malformed fields without echoing values', () => {
    const cases: [unknown, RegExp][] = [
      [null, /not a JSON object/],
      [[], /not a JSON object/],
      [{ ...good, Token: 5 }, /Token missing/],
      [{ ...good, Expiration: '2026-01-02T03:04:05+00:00' }, /Expiration is not RFC 3339 UTC/],
      [{ ...good, AccountId: '12' }, /AccountId/],
      [{ ...good, RoleArn: 'arn:aws:s3:::bucket' }, /RoleArn/],
    ]
    for (const [input, re] of cases) {
      assert.throws(
        () => parseBody(input),
        (e: Error) => re.test(e.message) && !e.message.includes('sekrit'),
      )
    }
  })
})
