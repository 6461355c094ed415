// The broker's start-up decision on session timing, against the fake assumer (a stand-in for
// STS's GetCallerIdentity; test/integration/broker-identity.test.ts runs it against moto).
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError } from '../lib/flags.ts'
import { createLogger } from '../lib/log.ts'
import { loadBrokerConfig } from './config.ts'
import { FakeAssumer } from './fake-assumer.ts'
import { sessionTimingAtStart } from './start-timing.ts'
import { StsError } from './sts.ts'

const MIN = 60_000
const base = ['--tls-cert-file=/c', '--tls-key-file=/k', '--cluster-name=c']
const ROLE_SESSION = 'arn:aws:sts::123456789012:assumed-role/broker-irsa/botocore-session-1'

function start(args: string[], identity: FakeAssumer['identity']) {
  const sts = new FakeAssumer()
  sts.identity = identity
  const lines: string[] = []
  const log = createLogger({ level: 'info', component: 'broker', write: (l) => lines.push(l) })
  const cfg = loadBrokerConfig([...base, ...args], {})
  return { sts, lines, run: () => sessionTimingAtStart(cfg, sts, log) }
}

describe('sessionTimingAtStart', () => {
  it('caps 12h at 1h when GetCallerIdentity names a role session, warning with the identity', async () => {
    const s = start(['--session-duration=12h'], { account: '123456789012', arn: ROLE_SESSION })
    const t = await s.run()
    assert.deepEqual(t, {
      durationMs: 60 * MIN,
      refreshWindowMs: 30 * MIN,
      minRemainingMs: 40 * MIN,
      prefetchBelowMs: 50 * MIN,
    })
    assert.equal(s.lines.length, 1)
    const line = JSON.parse(s.lines[0]!) as Record<string, unknown>
    assert.equal(line.level, 'warn')
    assert.match(
      line.msg as string,
      /^--session-duration capped at 1h: the broker identity is a role session/,
    )
    assert.equal(line.identity, ROLE_SESSION)
    assert.deepEqual([line.configured, line.sessionDuration], ['12h', '1h'])
  })

  it('keeps 12h for an identity that is not a role session', async () => {
    const s = start(['--session-duration=12h'], {
      account: '123456789012',
      arn: 'arn:aws:iam::123456789012:user/broker',
    })
    assert.equal((await s.run()).durationMs, 12 * 60 * MIN)
    assert.deepEqual(s.lines, [])
  })

  it('does not ask STS for sessions of 1h or less', async () => {
    const s = start(['--session-duration=45m'], { account: '123456789012', arn: ROLE_SESSION })
    assert.equal((await s.run()).durationMs, 45 * MIN)
    assert.equal(s.sts.callerIdentityCalls, 0)
  })

  it('caps when GetCallerIdentity fails (1h works for every identity), saying so', async () => {
    const s = start(
      ['--session-duration=2h'],
      new StsError('transient', 'ServiceUnavailable', 'STS is down'),
    )
    assert.equal((await s.run()).durationMs, 60 * MIN)
    assert.match(s.lines.join('\n'), /cannot tell whether its identity is a role session/)
  })

  it('refuses thresholds set by hand that do not fit the hour, naming the flag', async () => {
    const s = start(['--session-duration=12h', '--cache-min-remaining=4h'], {
      account: '123456789012',
      arn: ROLE_SESSION,
    })
    await assert.rejects(
      s.run(),
      (e: Error) =>
        e instanceof ConfigError &&
        /capped at 1h because the broker identity .* is a role session/.test(e.message) &&
        /--cache-min-remaining 4h: set it above 30m and below --session-duration 1h/.test(
          e.message,
        ),
    )
  })
})
