// AwsAssumer against the real AWS SDK and a real STS stand-in (moto): what goes on the wire
// (checked in moto's request recording, since moto itself ignores tags and SourceIdentity), that
// the session is usable, and that real SDK errors (a throttling answer, a refused connection, a
// hung endpoint) map to the right StsError kind, and withRetry's retry/give-up on them.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { systemClock } from '../../lib/clock.ts'
import { AwsAssumer } from '../../broker/aws-assumer.ts'
import { withRetry } from '../../broker/retry.ts'
import { StsError, type AssumeRoleInput } from '../../broker/sts.ts'
import { useCluster } from '../peers/cluster.ts'
import { StsThrottleShim } from '../support/sts-throttle-shim.ts'
import { recordedAssumeRoles, startRecording } from '../support/moto-recording.ts'

const cluster = await useCluster()
const endpoint = cluster.info.stsEndpoint
const region = 'us-east-1'
const ROLE = 'arn:aws:iam::123456789012:role/x'
// moto accepts any signature; a provider function, as the broker's chain is one.
const brokerIdentity = async () => ({
  accessKeyId: 'AKIDBROKERSTSTEST',
  secretAccessKey: 'broker-sts-test-secret',
})

function input(sessionName: string): AssumeRoleInput {
  return {
    roleArn: ROLE,
    sessionName,
    durationSeconds: 900,
    externalId: 'ext-123456',
    sourceIdentity: 'ns1.pod-a',
    tags: [
      { Key: 'kubernetes-namespace', Value: 'ns1' },
      { Key: 'kubernetes-service-account', Value: 'app' },
      { Key: 'kubernetes-pod-name', Value: 'pod-a' },
      { Key: 'kubernetes-pod-uid', Value: '0b4c5e6a-1111-2222-3333-444455556666' },
      { Key: 'kubernetes-node-name', Value: 'node-a' },
      { Key: 'cluster-name', Value: 'test-cluster' },
    ],
  }
}

const uniqueSession = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`

/** The recorded AssumeRole requests of one (unique) session name. */
const recordedRequests = (name: string): Promise<URLSearchParams[]> =>
  recordedAssumeRoles(endpoint, (n) => n === name)

describe('AwsAssumer against moto', () => {
  const assumer = new AwsAssumer({ region, endpoint, credentials: brokerIdentity })

  it('assumes a role with ExternalId, SourceIdentity and six session tags on the wire', async () => {
    // Recording is on from moto's start (MOTO_ENABLE_RECORDING); start-recording makes sure
    // without resetting, since other files may share this moto.
    await startRecording(endpoint)
    const session = uniqueSession('broker-sts')
    const t0 = Date.now()
    const creds = await assumer.assumeRole(input(session))

    assert.match(creds.accessKeyId, /^ASIA/)
    assert.ok(creds.secretAccessKey.length > 0 && creds.sessionToken.length > 0)
    assert.equal(creds.accountId, '123456789012')
    assert.equal(creds.roleArn, ROLE)
    const lifetime = creds.expiresAt - t0
    assert.ok(
      lifetime > 890_000 && lifetime <= 901_000,
      `DurationSeconds 900 honoured: ${lifetime}`,
    )

    const asRole = new STSClient({
      endpoint,
      region,
      credentials: {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        sessionToken: creds.sessionToken,
      },
    })
    const me = await asRole.send(new GetCallerIdentityCommand({}))
    assert.equal(me.Arn, `arn:aws:sts::123456789012:assumed-role/x/${session}`)
    assert.equal(me.Account, '123456789012')

    const [sent, ...more] = await recordedRequests(session)
    assert.ok(sent, 'the AssumeRole request is in the recording')
    assert.equal(more.length, 0, 'exactly one request: the SDK did not retry on its own')
    assert.equal(sent.get('Action'), 'AssumeRole')
    assert.equal(sent.get('RoleArn'), ROLE)
    assert.equal(sent.get('DurationSeconds'), '900')
    assert.equal(sent.get('ExternalId'), 'ext-123456')
    assert.equal(sent.get('SourceIdentity'), 'ns1.pod-a')
    const tags = input(session).tags
    tags.forEach((t, i) => {
      assert.equal(sent.get(`Tags.member.${i + 1}.Key`), t.Key)
      assert.equal(sent.get(`Tags.member.${i + 1}.Value`), t.Value)
    })
    assert.equal(sent.get('Tags.member.7.Key'), null)
    const transitive = [...sent.keys()].filter((k) => k.startsWith('TransitiveTagKeys'))
    assert.deepEqual(transitive, [], 'tags are not transitive')
  })

  it('sends no Tags, ExternalId or SourceIdentity when there are none', async () => {
    const session = uniqueSession('broker-sts-bare')
    await assumer.assumeRole({
      roleArn: ROLE,
      sessionName: session,
      durationSeconds: 3600,
      tags: [],
    })
    const [sent] = await recordedRequests(session)
    assert.ok(sent)
    const keys = [...sent.keys()].sort()
    assert.deepEqual(keys, ['Action', 'DurationSeconds', 'RoleArn', 'RoleSessionName', 'Version'])
  })

  it('callerIdentity() returns the moto account', async () => {
    const me = await assumer.callerIdentity()
    assert.equal(me.account, '123456789012')
    assert.match(me.arn, /^arn:aws:(iam|sts)::123456789012:/)
  })

  it('maps a real ValidationError (session name over 64 characters) to invalid', async () => {
    // moto's only AssumeRole check; it accepts short names, DurationSeconds < 900 and aws:*
    // SourceIdentity, which real STS refuses.
    await assert.rejects(
      assumer.assumeRole({ ...input('x'.repeat(65)), tags: [] }),
      (e) => e instanceof StsError && e.kind === 'invalid' && e.code === 'ValidationError',
    )
  })

  it('maps a refused connection to transient ECONNREFUSED', async () => {
    const port = await closedPort()
    const dead = new AwsAssumer({
      region,
      endpoint: `http://127.0.0.1:${port}`,
      credentials: brokerIdentity,
    })
    await assert.rejects(dead.assumeRole(input('refused')), (e) => {
      assert.ok(e instanceof StsError)
      assert.equal(e.kind, 'transient')
      assert.equal(e.code, 'ECONNREFUSED')
      assert.match(
        e.message,
        /^AssumeRole of arn:aws:iam::123456789012:role\/x failed: ECONNREFUSED/,
      )
      return true
    })
  })

  it('maps a hung endpoint to transient TimeoutError after requestTimeoutMs', async () => {
    // Accepts connections and never answers.
    const sockets: Socket[] = []
    const silent = createServer((socket) => void sockets.push(socket))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    after(() => {
      for (const s of sockets) s.destroy()
      return new Promise<void>((r) => silent.close(() => r()))
    })
    const port = (silent.address() as AddressInfo).port
    const hung = new AwsAssumer({
      region,
      endpoint: `http://127.0.0.1:${port}`,
      credentials: brokerIdentity,
      requestTimeoutMs: 300,
    })
    const t0 = Date.now()
    await assert.rejects(
      hung.callerIdentity(),
      (e) => e instanceof StsError && e.kind === 'transient' && e.code === 'TimeoutError',
    )
    const waited = Date.now() - t0
    assert.ok(waited >= 250 && waited < 3_000, `timed out after ${waited} ms`)
  })
})

describe('AwsAssumer behind a throttling STS', () => {
  let shim: StsThrottleShim
  let assumer: AwsAssumer
  before(async () => {
    shim = await StsThrottleShim.start({ upstream: endpoint })
    assumer = new AwsAssumer({ region, endpoint: shim.url, credentials: brokerIdentity })
  })
  after(() => shim.close())

  const retry = { clock: systemClock, random: Math.random, baseMs: 5, capMs: 50 }

  it('turns the real SDK’s parse of STS Throttling into StsError throttled', async () => {
    shim.throttleFirst = 1
    await assert.rejects(assumer.assumeRole(input(uniqueSession('throttled'))), (e) => {
      assert.ok(e instanceof StsError)
      assert.equal(e.kind, 'throttled')
      assert.equal(e.code, 'Throttling')
      assert.equal(
        e.message,
        'AssumeRole of arn:aws:iam::123456789012:role/x failed: Throttling (HTTP 400) [request id x]: Rate exceeded',
      )
      return true
    })
    assert.equal(shim.throttled, 1)
  })

  it('withRetry succeeds on the third upstream call after two throttles', async () => {
    shim.throttleFirst = 2
    const calls0 = shim.assumeRoleRequests
    const seen: string[] = []
    const session = uniqueSession('retried')
    const creds = await withRetry(() => assumer.assumeRole(input(session)), {
      ...retry,
      attempts: 4,
      onRetry: (e, attempt) => seen.push(`${attempt}:${e.kind}:${e.code}`),
    })
    assert.equal(shim.assumeRoleRequests - calls0, 3)
    assert.deepEqual(seen, ['1:throttled:Throttling', '2:throttled:Throttling'])
    assert.match(creds.accessKeyId, /^ASIA/)
    assert.equal((await recordedRequests(session)).length, 1, 'only the third reached moto')
  })

  it('withRetry gives up after exactly `attempts` calls while STS keeps throttling', async () => {
    shim.throttling = true
    after(() => (shim.throttling = false))
    const calls0 = shim.assumeRoleRequests
    await assert.rejects(
      withRetry(() => assumer.assumeRole(input(uniqueSession('given-up'))), {
        ...retry,
        attempts: 4,
      }),
      (e) => e instanceof StsError && e.kind === 'throttled' && e.code === 'Throttling',
    )
    assert.equal(shim.assumeRoleRequests - calls0, 4)
  })

  it("a session tag the broker's own session holds as transitive (EKS Pod Identity, emulated) is the broker's fault", async () => {
    shim.inheritedTransitiveTags = ['kubernetes-namespace', 'kubernetes-pod-name']
    after(() => (shim.inheritedTransitiveTags = []))
    await assert.rejects(assumer.assumeRole(input(uniqueSession('transitive'))), (e) => {
      assert.ok(e instanceof StsError)
      assert.equal(e.kind, 'identity')
      assert.equal(e.code, 'InvalidParameterValue')
      return true
    })
    const untagged = await assumer.assumeRole({ ...input(uniqueSession('untagged')), tags: [] })
    assert.ok(untagged.accessKeyId)
  })

  it('forwards everything else to moto untouched', async () => {
    shim.throttling = true
    const me = await assumer.callerIdentity()
    shim.throttling = false
    assert.equal(me.account, '123456789012')
  })
})

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}
