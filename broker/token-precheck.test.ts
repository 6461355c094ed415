import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FakeClock } from '../lib/fake-clock.ts'
import { HttpError } from '../lib/errors.ts'
import { FakeTokenReviewer } from './fake-token-reviewer.ts'
import { PrecheckingTokenReviewer } from './prechecking-token-reviewer.ts'
import {
  CLOCK_SKEW_MS,
  MAX_TOKEN_LENGTH,
  precheckToken,
  tokenExpiry,
  type PrecheckCode,
} from './token-precheck.ts'

const NOW = Date.UTC(2026, 0, 1)
const SEC = NOW / 1000
const AUD = 'iam-sidecar'
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')
const SIG = 'A'.repeat(342)
/** A token shaped like a projected ServiceAccount token, with claims edited. */
const jwt = (claims: Record<string, unknown> = {}, header: unknown = { alg: 'RS256', kid: 'k' }) =>
  `${b64(header)}.${b64({ aud: [AUD], exp: SEC + 3600, iat: SEC, nbf: SEC, sub: 'system:serviceaccount:n:app', ...claims })}.${SIG}`
const check = (token: string) => precheckToken(token, { audience: AUD, now: NOW })

describe('precheckToken', () => {
  it('passes a token shaped like a projected ServiceAccount token, aud as array or string', () => {
    assert.equal(check(jwt()), undefined)
    assert.equal(check(jwt({ aud: AUD })), undefined)
    assert.equal(check(jwt({ aud: ['https://kubernetes.default.svc', AUD] })), undefined)
    assert.equal(check(jwt({ nbf: undefined })), undefined, 'nbf is optional')
  })

  it('allows clock skew around exp and nbf', () => {
    assert.equal(check(jwt({ exp: SEC - CLOCK_SKEW_MS / 1000 + 1 })), undefined)
    assert.equal(check(jwt({ nbf: SEC + CLOCK_SKEW_MS / 1000 })), undefined)
  })

  const cases: [string, string, PrecheckCode, RegExp][] = [
    [
      'too large',
      'A'.repeat(MAX_TOKEN_LENGTH + 1),
      'TokenTooLarge',
      /16385 characters; at most 16384/,
    ],
    ['one segment', 'abcdef', 'TokenNotJwt', /not a JWT: it has 1 segment/],
    ['four segments', `${jwt()}.x`, 'TokenNotJwt', /has 4 segment/],
    ['empty signature', jwt().replace(/[^.]+$/, ''), 'TokenNotJwt', /empty or non-base64url/],
    ['standard base64', `${jwt()}+/=`, 'TokenNotJwt', /non-base64url/],
    ['header not JSON', `abc.${b64({ exp: SEC + 60 })}.${SIG}`, 'TokenMalformed', /header is not/],
    [
      'payload not JSON',
      `${b64({ alg: 'RS256' })}.bm90IGpzb24.${SIG}`,
      'TokenMalformed',
      /payload is not/,
    ],
    [
      'payload an array',
      `${b64({ alg: 'RS256' })}.${b64([1])}.${SIG}`,
      'TokenMalformed',
      /payload/,
    ],
    ['alg none', jwt({}, { alg: 'none' }), 'TokenUnsigned', /no signing algorithm/],
    ['no alg', jwt({}, { typ: 'JWT' }), 'TokenUnsigned', /no signing algorithm/],
    ['no exp', jwt({ exp: undefined }), 'TokenWithoutExpiry', /no numeric exp/],
    ['exp a string', jwt({ exp: String(SEC + 60) }), 'TokenWithoutExpiry', /no numeric exp/],
    [
      'expired',
      jwt({ exp: SEC - 3600 }),
      'TokenExpired',
      /expired at 2025-12-31T23:00:00.000Z, 3600 s ago/,
    ],
    ['expired past the skew', jwt({ exp: SEC - CLOCK_SKEW_MS / 1000 }), 'TokenExpired', /expired/],
    [
      'nbf far ahead',
      jwt({ nbf: SEC + 3600 }),
      'TokenNotYetValid',
      /not valid before .*, 3600 s from now/,
    ],
    ['nbf a string', jwt({ nbf: 'soon' }), 'TokenMalformed', /nbf claim is not a number/],
    [
      'other audience',
      jwt({ aud: ['sts.amazonaws.com'] }),
      'WrongAudience',
      /not issued for the audience "iam-sidecar"/,
    ],
    ['audience prefix', jwt({ aud: 'iam-sidecarx' }), 'WrongAudience', /audience/],
    ['no audience', jwt({ aud: undefined }), 'WrongAudience', /audience/],
    ['audience an object', jwt({ aud: { [AUD]: true } }), 'WrongAudience', /audience/],
  ]
  for (const [name, token, code, message] of cases) {
    it(`refuses ${name}: 401 ${code}, without echoing the token`, () => {
      const r = check(token)
      assert.ok(r instanceof HttpError, 'refused')
      assert.equal(r.status, 401)
      assert.equal(r.code, code)
      assert.match(r.message, message)
      for (const part of token.split('.')) {
        if (part.length >= 8) assert.ok(!r.message.includes(part), 'no part of the token')
      }
    })
  }

  it('has one decoder: tokenExpiry reads exp through it and trusts nothing malformed', () => {
    assert.equal(tokenExpiry(jwt({ exp: 100 })), 100_000)
    for (const t of ['', 'a', 'a.b.c', 'a.!!!.c', jwt({ exp: 'x' }), jwt({ exp: undefined })])
      assert.equal(tokenExpiry(t), undefined)
  })
})

describe('PrecheckingTokenReviewer', () => {
  it('refuses cheaply wrong tokens without asking the reviewer behind it, counting each reason', async () => {
    const inner = new FakeTokenReviewer()
    const refused: string[] = []
    const reviewer = new PrecheckingTokenReviewer({
      inner,
      clock: new FakeClock(NOW),
      audience: AUD,
      onRefused: (code) => refused.push(code),
    })
    const good = jwt()
    const pod = {
      namespace: 'n',
      serviceAccount: 'app',
      podName: 'p',
      podUid: 'u',
      nodeName: undefined,
    }
    inner.tokens.set(good, pod)
    for (const t of ['garbage', jwt({ exp: SEC - 3600 }), jwt({ aud: 'other' })])
      await assert.rejects(reviewer.review(t), (e: unknown) => (e as HttpError).status === 401)
    assert.equal(inner.calls, 0)
    assert.deepEqual(refused, ['TokenNotJwt', 'TokenExpired', 'WrongAudience'])
    assert.deepEqual(await reviewer.review(good), pod)
    assert.equal(inner.calls, 1)
  })
})
