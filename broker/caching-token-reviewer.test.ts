import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FakeClock } from '../lib/fake-clock.ts'
import { unavailable } from '../lib/errors.ts'
import { CachingTokenReviewer } from './caching-token-reviewer.ts'
import { FakeTokenReviewer } from './fake-token-reviewer.ts'

const pod = { namespace: 'n', serviceAccount: 's', podName: 'p', podUid: 'u', nodeName: undefined }
const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url')
const jwt = (expSec: number): string => `${b64({ alg: 'RS256' })}.${b64({ exp: expSec })}.sig`

function setup() {
  const clock = new FakeClock(1_000_000_000_000)
  const inner = new FakeTokenReviewer()
  const cache = new CachingTokenReviewer({ inner, clock, ttlMs: 60_000, max: 100 })
  return { clock, inner, cache }
}

describe('CachingTokenReviewer', () => {
  it('reuses a review for at most 60 s', async () => {
    const { clock, inner, cache } = setup()
    const token = jwt(clock.now() / 1000 + 3600)
    inner.tokens.set(token, pod)
    await cache.review(token)
    await clock.advance(59_999)
    await cache.review(token)
    assert.equal(inner.calls, 1)
    await clock.advance(1)
    await cache.review(token)
    assert.equal(inner.calls, 2)
  })

  it('never past the token expiry, and not at all without an exp claim', async () => {
    const { clock, inner, cache } = setup()
    const short = jwt(clock.now() / 1000 + 10)
    inner.tokens.set(short, pod)
    await cache.review(short)
    await clock.advance(10_000)
    await cache.review(short)
    assert.equal(inner.calls, 2)
    inner.tokens.set('opaque', pod)
    await cache.review('opaque')
    await cache.review('opaque')
    assert.equal(inner.calls, 4)
  })

  it('keeps accepting a reviewed token while the API server is down, but not a new one', async () => {
    const { clock, inner, cache } = setup()
    const token = jwt(clock.now() / 1000 + 3600)
    inner.tokens.set(token, pod)
    await cache.review(token)
    await clock.advance(120_000)
    inner.tokens.set(token, unavailable('TokenReviewUnavailable', 'down'))
    assert.deepEqual(await cache.review(token), pod)
    const fresh = jwt(clock.now() / 1000 + 3600)
    inner.tokens.set(fresh, unavailable('TokenReviewUnavailable', 'down'))
    await assert.rejects(cache.review(fresh), /down/)
  })

  it('drops a cached review once the API server rejects the token', async () => {
    const { clock, inner, cache } = setup()
    const token = jwt(clock.now() / 1000 + 3600)
    inner.tokens.set(token, pod)
    await cache.review(token)
    await clock.advance(60_000)
    inner.tokens.delete(token)
    await assert.rejects(cache.review(token), /rejected/)
    inner.tokens.set(token, unavailable('TokenReviewUnavailable', 'down'))
    await assert.rejects(cache.review(token), /down/)
  })

  it('makes one review for concurrent requests with one token, marked known once it was reviewed', async () => {
    const { clock, inner, cache } = setup()
    const token = jwt(clock.now() / 1000 + 3600)
    inner.tokens.set(token, pod)
    let open: () => void = () => {}
    inner.gate = new Promise<void>((r) => (open = r))
    const first = [cache.review(token), cache.review(token), cache.review(token)]
    open()
    assert.deepEqual(await Promise.all(first), [pod, pod, pod])
    assert.equal(inner.calls, 1)
    assert.deepEqual(inner.options, [{ known: false }])
    await clock.advance(60_000)
    inner.gate = undefined
    await cache.review(token)
    assert.deepEqual(inner.options, [{ known: false }, { known: true }])
    // A rejection is shared too, and the next request asks again.
    inner.tokens.delete(token)
    await clock.advance(60_000)
    inner.gate = new Promise<void>((r) => (open = r))
    const refused = [cache.review(token), cache.review(token)]
    open()
    for (const r of refused) await assert.rejects(r, /rejected/)
    assert.equal(inner.calls, 3)
    inner.gate = undefined
    await assert.rejects(cache.review(token), /rejected/)
    assert.equal(inner.calls, 4)
    assert.deepEqual(inner.options.at(-1), { known: false }, 'no longer known once rejected')
  })
})
