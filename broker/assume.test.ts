import { it } from 'node:test'
import assert from 'node:assert/strict'
import { systemClock } from '../lib/clock.ts'
import { createLogger } from '../lib/log.ts'
import type { Credentials } from '../lib/credentials.ts'
import { MAX_STS_IN_FLIGHT, limitedAssume } from './assume.ts'
import { fakeSession } from './fake-assumer.ts'
import type { Assumer } from './sts.ts'

it(`keeps at most ${MAX_STS_IN_FLIGHT} AssumeRole calls in flight, however many wait`, async () => {
  let inFlight = 0
  let most = 0
  const release: (() => void)[] = []
  const assumer: Assumer = {
    assumeRole: async (input) => {
      most = Math.max(most, ++inFlight)
      await new Promise<void>((r) => release.push(r))
      inFlight--
      return fakeSession(1, Date.now() + 3_600_000, input.roleArn) as Credentials
    },
    callerIdentity: async () => ({ account: '1', arn: 'arn:aws:iam::1:user/b' }),
  }
  const counter = { inc: () => {}, startTimer: () => () => 0 }
  const assume = limitedAssume(assumer, {
    stsRate: 10_000,
    stsBurst: 10_000,
    stsAttempts: 1,
    clock: systemClock,
    random: Math.random,
    metrics: { stsCalls: counter, stsSeconds: counter } as never,
    log: createLogger({ level: 'error', component: 't', write: () => {} }),
  })
  const input = {
    roleArn: 'arn:aws:iam::1:role/r',
    sessionName: 's',
    durationSeconds: 3600,
    tags: [],
  }
  const all = Array.from({ length: 200 }, () => assume(input))
  let done = 0
  while (done < 200) {
    await new Promise((r) => setTimeout(r, 1))
    const batch = release.splice(0)
    batch.forEach((r) => r())
    done += batch.length
  }
  await Promise.all(all)
  assert.equal(most, MAX_STS_IN_FLIGHT)
})
