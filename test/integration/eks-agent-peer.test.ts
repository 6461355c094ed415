// The EKS Pod Identity Agent benchmark peer (bench/eks-agent-fixture.ts): the real agent, built
// with the eksauth stand-in, serves the stand-in endpoint's credentials once through its cold path
// and then from its own cache; its Host check is live; the load tool's constant-rate mode paces.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Credentials } from '../../lib/credentials.ts'
import { answerAssumeRoleForPodIdentity } from '../../bench/eks-auth-stand-in.ts'
import {
  eksAgentUnavailable,
  getWithHost,
  startBenchEksAgent,
  type BenchEksAgent,
} from '../../bench/eks-agent-fixture.ts'
import { parseWrk, wrk } from '../../bench/wrk.ts'

const CREDS: Credentials = Object.freeze({
  accessKeyId: 'ASIABENCHSTANDIN0001',
  secretAccessKey: 'bench-secret',
  sessionToken: 'bench-session-token',
  expiresAt: Date.parse('2030-01-02T03:04:05Z'),
  accountId: '123456789012',
  roleArn: 'arn:aws:iam::123456789012:role/bench',
})

describe('the stand-in EKS Auth endpoint', () => {
  const call = {
    method: 'POST',
    path: '/clusters/c1/assume-role-for-pod-identity',
    body: '{"token":"t"}',
  }
  it('answers a signed AssumeRoleForPodIdentity with the given credentials, expiry in epoch seconds', () => {
    const a = answerAssumeRoleForPodIdentity(
      { ...call, authorization: 'AWS4-HMAC-SHA256 Credential=x' },
      CREDS,
    )
    assert.equal(a.status, 200)
    const body = JSON.parse(a.body) as {
      credentials: Record<string, unknown>
      assumedRoleUser: { arn: string }
    }
    assert.equal(body.credentials.accessKeyId, CREDS.accessKeyId)
    assert.equal(body.credentials.expiration, CREDS.expiresAt / 1000)
    assert.match(body.assumedRoleUser.arn, /^arn:aws:sts::123456789012:assumed-role\/bench\//)
  })
  it('refuses an unsigned call, a missing token and another path, naming the error type', () => {
    const unsigned = answerAssumeRoleForPodIdentity({ ...call, authorization: undefined }, CREDS)
    assert.equal(unsigned.headers['x-amzn-errortype'], 'AccessDeniedException')
    const auth = 'AWS4-HMAC-SHA256 Credential=x'
    assert.equal(
      answerAssumeRoleForPodIdentity({ ...call, authorization: auth, body: '{}' }, CREDS).status,
      400,
    )
    assert.equal(
      answerAssumeRoleForPodIdentity({ ...call, authorization: auth, path: '/x' }, CREDS).status,
      404,
    )
  })
})

describe('wrk report parsing', () => {
  it('counts only 2xx/3xx answers in okRps (a rate-limited server answers 429 beyond its limit)', () => {
    const out = [
      '  10000 requests in 10.00s, 1.00MB read',
      '  Non-2xx or 3xx responses: 7500',
      'Requests/sec:   1000.00',
      '     50%  500.00us',
      '     99%    2.00ms',
    ].join('\n')
    const r = parseWrk(out, false)
    assert.equal(r.okRps, 250)
    assert.equal(r.p99Ms, 2)
    assert.throws(() => parseWrk(out, true), /pacing script did not report/)
  })
})

// The agent's source comes only from the shared peers folder, not from a registry: without it
// (and without a cached build) these cases say so and are skipped; the cases above still run.
const unavailable = eksAgentUnavailable(process.env.EKS_POD_IDENTITY_AGENT_TARBALL)

describe('the EKS Pod Identity Agent peer', { skip: unavailable }, () => {
  let agent: BenchEksAgent
  before(async () => {
    agent = await startBenchEksAgent(CREDS)
  })
  after(() => agent?.stop())

  it('serves the stand-in credentials, calling EKS Auth only on its cold path', async () => {
    assert.equal(agent.eksAuthCalls(), 1) // the fixture's warming request
    for (let i = 0; i < 5; i++) {
      const r = await getWithHost(agent.url, { ...agent.headers })
      assert.equal(r.status, 200)
      const body = JSON.parse(r.body) as Record<string, string>
      assert.equal(body.AccessKeyId, CREDS.accessKeyId)
      assert.equal(body.Token, CREDS.sessionToken)
      assert.equal(body.AccountId, '123456789012')
      assert.equal(Date.parse(body.Expiration!), CREDS.expiresAt)
    }
    assert.equal(agent.eksAuthCalls(), 1)
  })

  it('checks the Host header: 169.254.170.23 passes, the loopback address it listens on does not', async () => {
    const r = await getWithHost(agent.url, { ...agent.headers, Host: '127.0.0.1' })
    assert.equal(r.status, 403)
  })

  it('the constant-rate mode of the load tool holds the rate, requests on their schedule', () => {
    const paced = wrk(agent.url, {
      connections: 8,
      threads: 2,
      seconds: 3,
      headers: { ...agent.headers },
      rate: 200,
    })
    assert.ok(paced.rps > 170 && paced.rps < 215, `paced at ${paced.rps}/s`)
    assert.equal(paced.non2xx, 0)
    // A request is late only when wrk itself was held up (a busy shared machine), not the agent.
    assert.ok(paced.late !== undefined && paced.late < paced.requests / 10, `${paced.late} late`)
  })
})
