import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { FakeClock } from '../lib/fake-clock.ts'
import { createLogger } from '../lib/log.ts'
import { BrokerIdentityHealth } from './broker-identity.ts'
import { FakeAssumer } from './fake-assumer.ts'
import { StsError } from './sts.ts'

const lines: string[] = []
const log = createLogger({ level: 'info', component: 'test', write: (l) => void lines.push(l) })
const invalidKey = new StsError(
  'identity',
  'InvalidClientTokenId',
  'The security token included in the request is invalid.',
)

function setup() {
  const clock = new FakeClock()
  const assumer = new FakeAssumer()
  const faults: string[] = []
  const health: boolean[] = []
  const h = new BrokerIdentityHealth({
    probe: () => assumer.callerIdentity(),
    clock,
    random: () => 0,
    log,
    onFault: (c) => void faults.push(c),
    onHealth: (ok) => void health.push(ok),
  })
  return { clock, assumer, h, faults, health }
}

describe('BrokerIdentityHealth', () => {
  it('a broken key, confirmed by GetCallerIdentity, fails readiness with what to fix, and recovers', async () => {
    const { clock, assumer, h, faults, health } = setup()
    assumer.identity = invalidKey
    assert.equal(h.attribute(invalidKey, 'arn:aws:iam::1:role/a'), invalidKey)
    await clock.advance(0)
    const r = h.readiness()
    assert.equal(r.ready, false)
    assert.ok(!r.ready && /access key/.test(r.message), JSON.stringify(r))
    assert.deepEqual(faults, ['InvalidClientTokenId'])
    assert.deepEqual(health, [true, false])
    assert.ok(lines.some((l) => l.includes('broker AWS identity broken')))
    // Probed again with backoff until the identity works again.
    await clock.advance(5_000)
    assert.ok(assumer.callerIdentityCalls >= 2)
    assumer.identity = { account: '1', arn: 'arn:aws:iam::1:user/broker' }
    await clock.advance(120_000)
    assert.deepEqual(h.readiness(), { ready: true })
    assert.equal(health.at(-1), true)
    const calls = assumer.callerIdentityCalls
    await clock.advance(600_000)
    assert.equal(assumer.callerIdentityCalls, calls, 'no probing once healthy')
  })

  it("an AccessDenied from the broker's own policy is counted but never changes readiness", async () => {
    const { clock, assumer, h, faults } = setup()
    const scp = new StsError(
      'identity',
      'AccessDenied',
      'explicit deny in a service control policy',
    )
    assert.equal(h.attribute(scp, 'arn:aws:iam::1:role/a').kind, 'identity')
    await clock.advance(10_000)
    assert.equal(assumer.callerIdentityCalls, 0, 'a role-specific denial is not probed')
    assert.deepEqual(h.readiness(), { ready: true })
    assert.deepEqual(faults, ['AccessDenied'])
  })

  it('denials of distinct roles add up to a broker-wide fault; a success resets them', () => {
    const { h } = setup()
    const denied = new StsError('denied', 'AccessDenied', 'not authorized')
    const kinds = (roles: string[]) => roles.map((r) => h.attribute(denied, r).kind)
    assert.deepEqual(kinds(['a', 'a', 'b']), ['denied', 'denied', 'denied'])
    assert.deepEqual(kinds(['c', 'a']), ['identity', 'identity'])
    h.succeeded()
    assert.deepEqual(kinds(['d', 'e']), ['denied', 'denied'])
  })

  it('a broker started with a broken identity is never ready', async () => {
    const { clock, assumer, h } = setup()
    assumer.identity = new StsError(
      'identity',
      'RegionDisabledException',
      'STS is not activated in this region',
    )
    h.start()
    await clock.advance(0)
    const r = h.readiness()
    assert.ok(!r.ready && /activate the region/.test(r.message), JSON.stringify(r))
    h.stop()
  })

  it('an unreachable STS while healthy does not fail readiness', async () => {
    const { clock, assumer, h } = setup()
    assumer.identity = new StsError('transient', 'ECONNREFUSED', 'connect ECONNREFUSED')
    h.start()
    await clock.advance(10_000)
    assert.deepEqual(h.readiness(), { ready: true })
    h.stop()
  })
})
