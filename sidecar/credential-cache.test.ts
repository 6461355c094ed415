import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FakeClock, settle } from '../lib/fake-clock.ts'
import { createLogger } from '../lib/log.ts'
import { CredentialCache } from './credential-cache.ts'
import { UpstreamError } from './credential-source.ts'
import { FakeCredentialSource, fakeCredentials } from './fake-credential-source.ts'

const MIN = 60_000
const quiet = createLogger({ level: 'error', component: 'test', write: () => {} })

function setup(script: ConstructorParameters<typeof FakeCredentialSource>[0], random = () => 0) {
  const clock = new FakeClock()
  const source = new FakeCredentialSource(script)
  const cache = new CredentialCache({
    source,
    clock,
    random,
    refreshWindowMs: 30 * MIN,
    log: quiet,
  })
  return { clock, source, cache }
}

const accessKey = (c: CredentialCache): string | undefined => {
  const s = c.snapshot()
  return s.kind === 'ok' ? (JSON.parse(s.body) as { AccessKeyId: string }).AccessKeyId : undefined
}

describe('CredentialCache', () => {
  it('is not ready and answers unavailable until the first fetch lands', async () => {
    const t0 = Date.UTC(2026, 0, 1)
    const { cache } = setup([fakeCredentials(1, t0 + 60 * MIN)])
    assert.equal(cache.snapshot().kind, 'unavailable')
    assert.equal(cache.ready, false)
    cache.start()
    await settle()
    assert.equal(cache.ready, true)
    assert.equal(accessKey(cache), 'ASIAFAKE00000001')
  })

  it('refreshes when 30 of 60 minutes remain, and serves the old credentials until then', async () => {
    const { clock, source, cache } = setup([])
    const t0 = clock.now()
    source.push(fakeCredentials(1, t0 + 60 * MIN), fakeCredentials(2, t0 + 90 * MIN))
    cache.start()
    await settle()
    await clock.advance(30 * MIN - 1)
    assert.equal(source.calls, 1)
    assert.equal(accessKey(cache), 'ASIAFAKE00000001')
    await clock.advance(1)
    assert.equal(source.calls, 2)
    assert.equal(accessKey(cache), 'ASIAFAKE00000002')
  })

  it('coalesces concurrent refreshes into one upstream call', async () => {
    let release!: (v: ReturnType<typeof fakeCredentials>) => void
    const hang = new Promise<ReturnType<typeof fakeCredentials>>((r) => (release = r))
    const { clock, source, cache } = setup([{ hang }])
    const all = Promise.all([cache.refresh(), cache.refresh(), cache.refresh()])
    release(fakeCredentials(1, clock.now() + 60 * MIN))
    await all
    assert.equal(source.calls, 1)
  })

  it('keeps serving cached credentials while the upstream fails, retrying with growing backoff, then 503 after expiry', async () => {
    const { clock, source, cache } = setup([])
    const t0 = clock.now()
    const down = new UpstreamError('transient', 'BrokerUnreachable', 'connection refused')
    source.push(fakeCredentials(1, t0 + 60 * MIN), down)
    cache.start()
    await settle()
    await clock.advance(30 * MIN) // refresh attempt 1 fails
    assert.equal(source.calls, 2)
    assert.equal(accessKey(cache), 'ASIAFAKE00000001')
    await clock.advance(500) // random 0: backoff 500, 1000, 2000 ...
    assert.equal(source.calls, 3)
    await clock.advance(999)
    assert.equal(source.calls, 3)
    await clock.advance(1)
    assert.equal(source.calls, 4)
    await clock.advance(30 * MIN)
    const snap = cache.snapshot()
    assert.equal(snap.kind, 'unavailable')
    assert.equal(snap.kind === 'unavailable' && snap.code, 'CredentialsExpired')
    // Past the ramp, retries run at most every 30 s (half the 60 s cap): about 60 in 30 minutes.
    assert.ok(source.calls <= 4 + 60 + 6, `retries stay bounded: ${source.calls}`)
  })

  it('stops handing out the role at once when the broker denies it', async () => {
    const { clock, source, cache } = setup([])
    source.push(
      fakeCredentials(1, clock.now() + 60 * MIN),
      new UpstreamError('denied', 'RoleNotPermitted', 'role x is not permitted in namespace y'),
    )
    cache.start()
    await settle()
    await clock.advance(30 * MIN)
    const snap = cache.snapshot()
    assert.deepEqual(snap, {
      kind: 'denied',
      code: 'RoleNotPermitted',
      message: 'role x is not permitted in namespace y',
    })
  })

  it('treats already-expired upstream credentials as a failure', async () => {
    const { cache } = setup([fakeCredentials(1, Date.UTC(2026, 0, 1) - 1)])
    cache.start()
    await settle()
    assert.equal(cache.ready, false)
    const snap = cache.snapshot()
    assert.match(snap.kind === 'unavailable' ? snap.message : '', /already expired/)
  })

  it('stop() cancels the scheduled refresh', async () => {
    const { clock, source, cache } = setup([fakeCredentials(1, Date.UTC(2026, 0, 1) + 60 * MIN)])
    cache.start()
    await settle()
    assert.equal(clock.pending, 1)
    cache.stop()
    await clock.advance(120 * MIN)
    assert.equal(source.calls, 1)
  })
})
