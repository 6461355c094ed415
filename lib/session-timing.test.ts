import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { loadBrokerConfig } from '../broker/config.ts'
import { SessionCache } from '../broker/session-cache.ts'
import { refreshDelay } from '../sidecar/schedule.ts'
import { loadSidecarConfig } from '../sidecar/config.ts'
import { FakeClock, settle } from './fake-clock.ts'
import { fakeCredentials } from './fake-credentials.ts'
import { ConfigError, formatDuration, parseDuration } from './flags.ts'
import { createLogger } from './log.ts'
import {
  capForIdentity,
  DEFAULT_REFRESH_WINDOW_MS,
  isRoleSession,
  refreshPoint,
  sessionTiming,
  type SessionTiming,
} from './session-timing.ts'

const base = ['--tls-cert-file=/c', '--tls-key-file=/k', '--cluster-name=c']
const MIN = 60_000
const H = 60 * MIN
const W = DEFAULT_REFRESH_WINDOW_MS
const quiet = createLogger({ level: 'error', component: 'test', write: () => {} })
const DURATIONS = ['15m', '30m', '45m', '1h', '2h', '12h']

const timingOf = (args: string[]): SessionTiming =>
  loadBrokerConfig([...base, ...args], {}).sessionTiming

/**
 * Sidecars (the real refresh schedule) asking one broker session cache (the real SessionCache,
 * with the thresholds the broker's config derives) for one key, on a fake clock: `starts` are the
 * sidecars' start times (several: the 'shared' scope, or a restarted sidecar). Counts what a
 * sidecar would notice: being handed a session it already held (it asks again at once).
 */
async function simulate(t: SessionTiming, o: { starts: number[]; hours: number; random: number }) {
  const clock = new FakeClock()
  const t0 = clock.now()
  let sts = 0
  const cache = new SessionCache({
    max: 10,
    clock,
    minRemainingMs: t.minRemainingMs,
    prefetchBelowMs: t.prefetchBelowMs,
    log: quiet,
  })
  const load = async () => fakeCredentials(++sts, clock.now() + t.durationMs)
  const sidecars = o.starts.map((s) => ({ next: t0 + s, held: new Set<string>() }))
  let asks = 0
  let sameAgain = 0
  let leastHandedOut = Infinity
  for (;;) {
    const sc = sidecars.reduce((a, b) => (a.next <= b.next ? a : b))
    if (sc.next > t0 + o.hours * H) break
    await clock.advance(sc.next - clock.now())
    const creds = await cache.get('k', load)
    await settle()
    asks++
    if (sc.held.has(creds.accessKeyId)) sameAgain++
    sc.held.add(creds.accessKeyId)
    leastHandedOut = Math.min(leastHandedOut, creds.expiresAt - clock.now())
    sc.next =
      clock.now() + refreshDelay(clock.now(), creds.expiresAt, t.refreshWindowMs, () => o.random)
  }
  return { sts, asks, sameAgain, leastHandedOut }
}

describe('session timing: every documented duration works with the defaults', () => {
  for (const d of DURATIONS) {
    it(`--session-duration=${d}: the broker starts, and its thresholds sit above the sidecars' refresh point`, () => {
      const t = timingOf([`--session-duration=${d}`])
      assert.equal(t.durationMs, parseDuration(d))
      assert.ok(refreshPoint(t.durationMs, W) < t.minRemainingMs)
      assert.ok(t.minRemainingMs < t.prefetchBelowMs)
      assert.ok(t.prefetchBelowMs < t.durationMs)
    })

    it(`--session-duration=${d}: no sidecar is handed a session it already held, and STS sees no storm`, async () => {
      const t = timingOf([`--session-duration=${d}`])
      const hours = Math.max(6, (4 * t.durationMs) / H)
      const quietMs = t.durationMs - refreshPoint(t.durationMs, W)
      for (const random of [0, 0.5, 1]) {
        const one = await simulate(t, { starts: [0], hours, random })
        assert.equal(one.sameAgain, 0, `one pod, random ${random}`)
        // Each ask is a new session, at most one per (duration − refresh point).
        assert.ok(one.sts <= Math.ceil((hours * H) / quietMs) + 1, `${one.sts} STS calls`)
        // Three sidecars sharing a session (scope 'shared'), started a third of a session apart.
        const starts = [0, t.durationMs / 3, (2 * t.durationMs) / 3]
        const shared = await simulate(t, { starts, hours, random })
        assert.equal(shared.sameAgain, 0, `shared, random ${random}`)
        assert.ok(shared.leastHandedOut >= t.minRemainingMs)
      }
    })
  }

  it('keeps the 1h defaults operators know (40m, 50m), and derives 45m sessions above the 30m window', () => {
    assert.deepEqual(timingOf([]), {
      durationMs: H,
      refreshWindowMs: 30 * MIN,
      minRemainingMs: 40 * MIN,
      prefetchBelowMs: 50 * MIN,
    })
    const t45 = timingOf(['--session-duration=45m'])
    assert.deepEqual([t45.minRemainingMs, t45.prefetchBelowMs], [30 * MIN, 37.5 * MIN])
    const t12 = timingOf(['--session-duration=12h'])
    assert.deepEqual([t12.minRemainingMs, t12.prefetchBelowMs], [260 * MIN, 490 * MIN])
  })

  it('follows the sidecars window the broker is told, and spreads a threshold not set by hand', () => {
    const t = timingOf(['--sidecar-refresh-window=20m'])
    assert.deepEqual(
      [formatDuration(t.minRemainingMs), formatDuration(t.prefetchBelowMs)],
      ['33m20s', '46m40s'],
    )
    // Only one set by hand: the other lies halfway to its neighbour.
    assert.equal(timingOf(['--cache-min-remaining=50m']).prefetchBelowMs, 55 * MIN)
    assert.equal(timingOf(['--cache-prefetch-below=40m']).minRemainingMs, 35 * MIN)
  })

  it('the sidecar and the broker default to one refresh window', () => {
    assert.equal(loadSidecarConfig(['--broker-url=https://b'], {}).refreshWindow, W)
    assert.equal(loadBrokerConfig(base, {}).sidecarRefreshWindow, W)
  })
})

describe('session timing: thresholds set by hand that cannot work are refused at start', () => {
  const refused = (args: string[], ...patterns: RegExp[]) =>
    assert.throws(
      () => loadBrokerConfig([...base, ...args], {}),
      (e: Error) => e instanceof ConfigError && patterns.every((p) => p.test(e.message)),
    )

  it('min-remaining not below the session: names the flag, the range and the derived values', () => {
    refused(
      ['--session-duration=30m', '--cache-min-remaining=40m'],
      /^--cache-min-remaining 40m: set it above 15m and below --session-duration 30m/,
      /leave --cache-min-remaining and --cache-prefetch-below unset to derive them \(20m and 25m here\)/,
    )
  })

  it('min-remaining not above the sidecars refresh point (the session would come straight back)', () => {
    refused(
      ['--cache-min-remaining=30m'],
      /set it above 30m and below --session-duration 1h/,
      /--sidecar-refresh-window 30m/,
    )
    refused(['--sidecar-refresh-window=20m', '--cache-min-remaining=20m'], /set it above 20m/)
  })

  it('prefetch-below outside min-remaining..duration', () => {
    refused(
      ['--cache-prefetch-below=1h'],
      /^--cache-prefetch-below 1h: set it above 30m/,
      /below --session-duration 1h/,
    )
    refused(
      ['--cache-min-remaining=45m', '--cache-prefetch-below=42m'],
      /--cache-prefetch-below 42m: set it at or above --cache-min-remaining 45m/,
    )
  })

  it('refuses a sidecar window of 15m or less, as the sidecar does', () => {
    refused(['--sidecar-refresh-window=15m'], /--sidecar-refresh-window: must be more than 15m/)
  })
})

describe('session timing: role chaining', () => {
  const settings = { durationMs: 12 * H, refreshWindowMs: W }
  const role = 'arn:aws:sts::123456789012:assumed-role/broker/i-0abc'

  it('tells a role session from a user, in every partition', () => {
    assert.equal(isRoleSession(role), true)
    assert.equal(isRoleSession('arn:aws-cn:sts::123456789012:assumed-role/b/s'), true)
    assert.equal(isRoleSession('arn:aws:iam::123456789012:user/broker'), false)
  })

  it('caps a role session over 1h at 1h, with the thresholds derived for the hour', () => {
    assert.deepEqual(capForIdentity(settings, role), {
      ok: true,
      capped: true,
      timing: {
        durationMs: H,
        refreshWindowMs: W,
        minRemainingMs: 40 * MIN,
        prefetchBelowMs: 50 * MIN,
      },
    })
    // GetCallerIdentity failed: 1h works for every identity.
    assert.equal((capForIdentity(settings, undefined) as { capped: boolean }).capped, true)
  })

  it('leaves a user identity, and sessions of 1h or less, alone', () => {
    const user = capForIdentity(settings, 'arn:aws:iam::123456789012:user/broker')
    assert.deepEqual(user.ok && [user.capped, user.timing.durationMs], [false, 12 * H])
    const hour = capForIdentity({ durationMs: H, refreshWindowMs: W }, role)
    assert.deepEqual(hour.ok && [hour.capped, hour.timing.durationMs], [false, H])
  })

  it('refuses thresholds set by hand that do not fit the hour, saying why', () => {
    const r = capForIdentity({ ...settings, minRemainingMs: 4 * H }, role)
    assert.equal(r.ok, false)
    assert.match(
      !r.ok ? r.message : '',
      /^--session-duration 12h is capped at 1h because the broker identity arn:aws:sts::123456789012:assumed-role\/broker\/i-0abc is a role session.*--cache-min-remaining 4h: set it above 30m and below --session-duration 1h/,
    )
    assert.equal(
      sessionTiming({ ...settings, minRemainingMs: 4 * H }).ok,
      true,
      'fine without the cap',
    )
  })
})

describe('the chart documents what the programs accept', () => {
  const schema = JSON.parse(
    readFileSync(new URL('../chart/values.schema.json', import.meta.url), 'utf8'),
  )
  const pattern = (path: string[]) => {
    let node = schema
    for (const k of path) node = node.properties[k]
    return new RegExp(node.pattern as string)
  }
  const accepts = (f: () => unknown) => {
    try {
      f()
      return true
    } catch {
      return false
    }
  }
  const samples = [
    '14m',
    '15m',
    '16m',
    '30m',
    '45m',
    '59m',
    '1h',
    '1h30m',
    '90m',
    '2h',
    '11h59m',
    '12h',
    '720m',
    '721m',
    '13h',
    '900s',
    '899s',
    '43200s',
    '43201s',
    '0h',
    '1h60m',
  ]

  it('broker.sessionDuration: the schema allows a value only when the broker starts with it', () => {
    const re = pattern(['broker', 'sessionDuration'])
    for (const d of samples) {
      const broker = accepts(() => loadBrokerConfig([...base, `--session-duration=${d}`], {}))
      if (re.test(d)) assert.ok(broker, `the chart allows ${d}, the broker refuses it`)
      // Every plain form the broker accepts is allowed too (1h60m is a spelling left out).
      else if (d !== '1h60m') assert.ok(!broker, `the broker accepts ${d}, the chart refuses it`)
    }
  })

  it('injector.sidecar.refreshWindow: the schema allows a value only when the sidecar and broker do', () => {
    const re = pattern(['injector', 'sidecar', 'refreshWindow'])
    for (const d of samples) {
      const ok =
        accepts(() => loadSidecarConfig(['--broker-url=https://b', `--refresh-window=${d}`], {})) &&
        accepts(() => loadBrokerConfig([...base, `--sidecar-refresh-window=${d}`], {}))
      if (re.test(d)) assert.ok(ok, `the chart allows ${d}, the sidecar refuses it`)
      else if (d !== '1h60m') assert.ok(!ok, `the sidecar accepts ${d}, the chart refuses it`)
    }
  })
})
