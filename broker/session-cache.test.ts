import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FakeClock, settle } from '../lib/fake-clock.ts'
import { createLogger } from '../lib/log.ts'
import type { Credentials } from '../lib/credentials.ts'
import { FakeAssumer, fakeSession } from './fake-assumer.ts'
import { SessionCache, sessionKey } from './session-cache.ts'
import { StsError } from './sts.ts'

const MIN = 60_000
const ROLE = 'arn:aws:iam::123456789012:role/app'

function setup(o: { max?: number } = {}) {
  const clock = new FakeClock()
  const sts = new FakeAssumer()
  const counts = { hit: 0, miss: 0, prefetch: 0, size: -1 }
  const logs: string[] = []
  const cache = new SessionCache({
    max: o.max ?? 100,
    clock,
    minRemainingMs: 40 * MIN,
    prefetchBelowMs: 50 * MIN,
    log: createLogger({ level: 'warn', component: 'test', write: (l) => logs.push(l) }),
    observer: {
      hit: () => counts.hit++,
      miss: () => counts.miss++,
      prefetch: () => counts.prefetch++,
      size: (n) => (counts.size = n),
    },
  })
  const load = (): Promise<Credentials> =>
    sts.assumeRole({ roleArn: ROLE, sessionName: 's', durationSeconds: 3600, tags: [] })
  /** A session issued now that lasts `minutes`. */
  const session = (n: number, minutes = 60) => fakeSession(n, clock.now() + minutes * MIN)
  const key = async (k: string) => (await cache.get(k, load)).accessKeyId
  return { clock, sts, cache, counts, logs, load, session, key }
}

describe('SessionCache', () => {
  it('loads on a miss and serves the cached session while 40 minutes or more remain', async () => {
    const { clock, sts, counts, session, key } = setup()
    sts.push(session(1), session(2))
    assert.equal(await key('a'), 'ASIAFAKE00000001')
    await clock.advance(9 * MIN)
    assert.equal(await key('a'), 'ASIAFAKE00000001')
    assert.equal(sts.calls, 1)
    assert.deepEqual(counts, { hit: 1, miss: 1, prefetch: 0, size: 1 })
  })

  it('treats an entry with less than 40 minutes left as a miss and loads in the foreground', async () => {
    const { clock, sts, cache, counts, session, key } = setup()
    sts.push(session(1))
    await key('a')
    // Skip past the prefetch window without a request, so no background refresh ran.
    await clock.advance(20 * MIN + 1)
    sts.push(session(2))
    assert.equal(await key('a'), 'ASIAFAKE00000002')
    assert.equal(sts.calls, 2)
    assert.equal(counts.miss, 2)
    assert.equal(cache.size, 1)
  })

  it('still serves at exactly 40 minutes left (and prefetches)', async () => {
    const { clock, sts, counts, session, key } = setup()
    sts.push(session(1))
    await key('a')
    await clock.advance(20 * MIN)
    sts.push(session(2))
    assert.equal(await key('a'), 'ASIAFAKE00000001')
    assert.deepEqual([counts.hit, counts.prefetch], [1, 1])
    await settle()
    assert.equal(sts.calls, 2)
    assert.equal(await key('a'), 'ASIAFAKE00000002')
  })

  it('prefetches in the background below 50 minutes left, once, and keeps serving meanwhile', async () => {
    const { clock, sts, counts, session, key } = setup()
    sts.push(session(1))
    await key('a')
    await clock.advance(10 * MIN) // exactly 50 left: no prefetch yet
    await key('a')
    assert.equal(sts.calls, 1)
    await clock.advance(1)
    let release!: (c: Credentials) => void
    sts.push({ hang: new Promise((r) => (release = r)) })
    assert.equal(await key('a'), 'ASIAFAKE00000001')
    assert.equal(await key('a'), 'ASIAFAKE00000001')
    assert.equal(sts.calls, 2, 'two hits below the threshold share one prefetch')
    assert.equal(counts.prefetch, 1)
    release(session(2))
    await settle()
    assert.equal(await key('a'), 'ASIAFAKE00000002')
    assert.equal(sts.calls, 2)
  })

  it('keeps the old session when a prefetch fails, logs it, and waits before prefetching again', async () => {
    const { clock, sts, counts, logs, session, key } = setup()
    sts.push(session(1))
    await key('a')
    await clock.advance(15 * MIN)
    sts.push(new StsError('throttled', 'Throttling', 'Rate exceeded'))
    assert.equal(await key('a'), 'ASIAFAKE00000001')
    await settle()
    assert.equal(sts.calls, 2)
    assert.equal(logs.length, 1)
    const line = JSON.parse(logs[0] ?? '{}') as { msg: string; err: { message: string } }
    assert.equal(line.msg, 'background session refresh failed; serving the cached session')
    assert.equal(line.err.message, 'Rate exceeded')
    assert.doesNotMatch(logs[0] ?? '', /fake-secret|fake-session-token/)
    // Hits within the next 30 s do not go to STS again.
    await clock.advance(29_999)
    assert.equal(await key('a'), 'ASIAFAKE00000001')
    assert.equal(sts.calls, 2)
    await clock.advance(1)
    sts.push(session(3))
    assert.equal(await key('a'), 'ASIAFAKE00000001')
    await settle()
    assert.equal(sts.calls, 3)
    assert.equal(counts.prefetch, 2)
    assert.equal(await key('a'), 'ASIAFAKE00000003')
  })

  it('coalesces concurrent misses for one key into one load; other keys load separately', async () => {
    const { sts, cache, load, session } = setup()
    let release!: (c: Credentials) => void
    sts.push({ hang: new Promise((r) => (release = r)) }, session(9))
    const a = [cache.get('a', load), cache.get('a', load), cache.get('a', load)]
    const b = cache.get('b', load)
    assert.equal(sts.calls, 2)
    release(session(1))
    const got = await Promise.all(a)
    assert.deepEqual(
      got.map((c) => c.accessKeyId),
      ['ASIAFAKE00000001', 'ASIAFAKE00000001', 'ASIAFAKE00000001'],
    )
    assert.equal((await b).accessKeyId, 'ASIAFAKE00000009')
  })

  it('gives a failed load to every waiter and does not cache it', async () => {
    const { sts, cache, load, session, key } = setup()
    let fail!: (e: Error) => void
    const hang = new Promise<Credentials>((_, rej) => (fail = rej))
    sts.push({ hang })
    const waiters = [cache.get('a', load), cache.get('a', load)]
    const denied = new StsError('denied', 'AccessDenied', 'not trusted')
    fail(denied)
    for (const w of waiters) await assert.rejects(w, (e) => e === denied)
    assert.equal(cache.size, 0)
    sts.push(session(2))
    assert.equal(await key('a'), 'ASIAFAKE00000002')
    assert.equal(sts.calls, 2)
  })

  it('evicts the least recently used entry beyond max', async () => {
    const { sts, cache, counts, session, key } = setup({ max: 2 })
    sts.push(session(1), session(2), session(3), session(4))
    await key('a')
    await key('b')
    await key('a') // a is now more recent than b
    await key('c') // evicts b
    assert.equal(cache.size, 2)
    assert.equal(counts.size, 2)
    assert.equal(await key('a'), 'ASIAFAKE00000001')
    assert.equal(await key('b'), 'ASIAFAKE00000004')
    assert.equal(sts.calls, 4)
  })

  it('delete() drops the entry, and a load in flight for it is not stored', async () => {
    const { sts, cache, load, session, key } = setup()
    sts.push(session(1))
    await key('a')
    cache.delete('a')
    assert.equal(cache.size, 0)
    let release!: (c: Credentials) => void
    sts.push({ hang: new Promise((r) => (release = r)) })
    const inFlight = cache.get('a', load)
    cache.delete('a')
    release(session(2))
    assert.equal((await inFlight).accessKeyId, 'ASIAFAKE00000002', 'the waiter still gets it')
    assert.equal(cache.size, 0)
  })

  it('warns when sessions are shorter than the minimum, as every request would reach STS', async () => {
    const { sts, logs, session, key } = setup()
    sts.push(session(1, 15), session(2, 15))
    assert.equal(await key('a'), 'ASIAFAKE00000001')
    assert.equal(await key('a'), 'ASIAFAKE00000002')
    assert.equal(sts.calls, 2)
    assert.equal(logs.length, 2)
    assert.match(logs[0] ?? '', /shorter than the cache minimum/)
  })

  it('refuses a prefetch threshold below the minimum', () => {
    assert.throws(
      () =>
        new SessionCache({
          max: 1,
          clock: new FakeClock(),
          minRemainingMs: 40 * MIN,
          prefetchBelowMs: 30 * MIN,
          log: createLogger({ level: 'error', component: 't', write: () => {} }),
        }),
      RangeError,
    )
  })
})

describe('sessionKey', () => {
  const p = { podUid: 'u-1', namespace: 'ns', serviceAccount: 'sa', roleArn: ROLE }
  it('is per pod and role in pod scope', () => {
    assert.equal(sessionKey('pod', p), `pod|u-1|${ROLE}`)
    assert.equal(sessionKey('pod', { ...p, namespace: 'other' }), sessionKey('pod', p))
    assert.notEqual(sessionKey('pod', { ...p, podUid: 'u-2' }), sessionKey('pod', p))
  })
  it('is per namespace, ServiceAccount and role in shared scope', () => {
    assert.equal(sessionKey('shared', p), `shared|ns|sa|${ROLE}`)
    assert.equal(sessionKey('shared', { ...p, podUid: 'u-2' }), sessionKey('shared', p))
    assert.notEqual(sessionKey('shared', { ...p, roleArn: `${ROLE}2` }), sessionKey('shared', p))
  })
})
