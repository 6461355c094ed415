import { it } from 'node:test'
import assert from 'node:assert/strict'
import { FakeClock } from '../lib/fake-clock.ts'
import { FakeEvents, RateLimitedEvents } from './events.ts'

it('keeps one Event per pod and reason per window', async () => {
  const clock = new FakeClock()
  const inner = new FakeEvents()
  const events = new RateLimitedEvents({ inner, clock, windowMs: 300_000 })
  const pod = { namespace: 'n', name: 'p', uid: 'u' }
  const e = { type: 'Warning' as const, reason: 'X', message: 'm' }
  events.podEvent(pod, e)
  events.podEvent(pod, e)
  events.podEvent(pod, { ...e, reason: 'Y' })
  events.podEvent({ ...pod, uid: 'u2' }, e)
  assert.equal(inner.events.length, 3)
  await clock.advance(300_000)
  events.podEvent(pod, e)
  assert.equal(inner.events.length, 4)
})
