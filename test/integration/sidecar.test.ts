// The sidecar bundle as a real process, fed by the test broker with real moto credentials:
// endpoint contract, secret file, refresh/failure behaviour over real sockets, hostile input.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { useCluster } from '../peers/cluster.ts'
import { freePort } from '../peers/ports.ts'
import { createPki } from '../peers/pki.ts'
import { startTestBroker, type TestBroker } from '../support/test-broker.ts'
import { readSecret, startSidecar, type SidecarProcess } from '../support/sidecar-process.ts'

const cluster = await useCluster()
const ROLE = 'arn:aws:iam::210987654321:role/sidecar-it'
const SA_TOKEN = 'projected-sa-token-for-tests'
// Registered at top level: an after() called inside a hook would run when that hook ends.
const cleanups: (() => Promise<void>)[] = []
after(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function brokerWith(durationSeconds: number): Promise<TestBroker> {
  const b = await startTestBroker({
    tls: cluster.pki.issueServing('test-broker'),
    stsEndpoint: cluster.info.stsEndpoint,
    roleArn: ROLE,
    token: SA_TOKEN,
    durationSeconds,
  })
  cleanups.push(() => b.close())
  return b
}

async function sidecarFor(
  b: TestBroker,
  extraArgs: string[] = [],
  waitReady = true,
): Promise<SidecarProcess> {
  const sp = await startSidecar({
    brokerUrl: b.url,
    caFile: cluster.info.caCertFile,
    token: SA_TOKEN,
    extraArgs,
    waitReady,
  })
  cleanups.push(() => sp.stop())
  return sp
}

const getCreds = (
  sp: SidecarProcess,
  headers: Record<string, string> = { authorization: readSecret(sp) },
) => fetch(`${sp.url}/v1/credentials`, { headers })

describe('sidecar process with the test broker and moto', () => {
  let broker: TestBroker
  let sp: SidecarProcess
  before(async () => {
    broker = await brokerWith(3600)
    sp = await sidecarFor(broker)
  })

  it('serves credentials that moto accepts as the assumed role', async () => {
    const res = await getCreds(sp)
    assert.equal(res.status, 200)
    const body = (await res.json()) as Record<string, string>
    assert.match(body.Expiration!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    assert.ok(Date.parse(body.Expiration!) - Date.now() > 15 * 60_000, 'more than 15 minutes left')
    assert.equal(body.RoleArn, ROLE)
    assert.equal(body.AccountId, '210987654321')
    const sts = new STSClient({
      endpoint: cluster.info.stsEndpoint,
      region: 'us-east-1',
      credentials: {
        accessKeyId: body.AccessKeyId!,
        secretAccessKey: body.SecretAccessKey!,
        sessionToken: body.Token!,
      },
    })
    const me = await sts.send(new GetCallerIdentityCommand({}))
    assert.equal(me.Arn, 'arn:aws:sts::210987654321:assumed-role/sidecar-it/session-1')
  })

  it('writes a random per-pod secret without a trailing newline, readable by the pod', () => {
    const secret = readSecret(sp)
    assert.match(secret, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(statSync(sp.secretFile).mode & 0o777, 0o444)
  })

  it('answers from memory: 200 requests cause no extra broker call', async () => {
    const before = broker.calls
    const secret = readSecret(sp)
    const statuses = await Promise.all(
      Array.from({ length: 200 }, () =>
        getCreds(sp, { authorization: secret }).then((r) => r.status),
      ),
    )
    assert.deepEqual(new Set(statuses), new Set([200]))
    assert.equal(broker.calls, before)
  })

  it('closes or refuses hostile requests and stays up', async () => {
    assert.equal(
      (await getCreds(sp, { authorization: readSecret(sp), 'x-pad': 'a'.repeat(20_000) })).status,
      431,
    )
    assert.match(await rawRequest(sp.port, 'GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400/)
    assert.match(
      await rawRequest(sp.port, 'GET /v1/cred\xffentials HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      /^HTTP\/1\.1 (400|404)/,
    )
    assert.match(
      await rawRequest(
        sp.port,
        `GET /v1/credentials HTTP/1.1\r\nHost: 127.0.0.1:${sp.port}\r\nAuthorization: ${readSecret(sp)}\r\nContent-Length: 99999999\r\n\r\nxx`,
      ),
      /^HTTP\/1\.1 200/,
    )
    // Far more concurrent connections than the sidecar keeps: extras are dropped, none crash it.
    const sockets = await Promise.all(Array.from({ length: 700 }, () => openSocket(sp.port)))
    sockets.forEach((s) => s.destroy())
    assert.equal((await getCreds(sp)).status, 200)
    assert.equal(sp.child.exitCode, null)
  })

  it('logs no secret: not the pod secret, the SA token or any issued credential', () => {
    const out = sp.output()
    assert.match(out, /"msg":"credentials refreshed"/)
    for (const c of broker.issued) {
      for (const secret of [c.secretAccessKey, c.sessionToken])
        assert.ok(!out.includes(secret), 'issued secret in log')
    }
    assert.ok(!out.includes(readSecret(sp)))
    assert.ok(!out.includes(SA_TOKEN))
  })
})

describe('sidecar failure behaviour', () => {
  it('keeps serving cached credentials while the broker fails, then 503 once they expire', async () => {
    const b = await brokerWith(10) // refresh at ~5 s (half-life), expiry at 10 s
    const sp = await sidecarFor(b)
    const first = (await (await getCreds(sp)).json()) as { AccessKeyId: string }
    b.setFallback({
      kind: 'status',
      status: 503,
      code: 'Unavailable',
      message: 'broker overloaded',
    })
    await sleep(6000)
    const res = await getCreds(sp)
    assert.equal(res.status, 200)
    assert.equal(((await res.json()) as { AccessKeyId: string }).AccessKeyId, first.AccessKeyId)
    assert.ok(b.calls >= 2, 'a refresh was attempted')
    await sleep(4500)
    const expired = await getCreds(sp)
    assert.equal(expired.status, 503)
    assert.equal(((await expired.json()) as { code: string }).code, 'CredentialsExpired')
  })

  it('passes a broker denial through as 403 with its reason', async () => {
    const b = await brokerWith(3600)
    b.setFallback({
      kind: 'status',
      status: 403,
      code: 'RoleNotPermitted',
      message: 'role sidecar-it is not permitted in namespace n1',
    })
    const sp = await sidecarFor(b, [], false)
    await sleep(200)
    const res = await getCreds(sp)
    assert.equal(res.status, 403)
    assert.deepEqual(await res.json(), {
      code: 'RoleNotPermitted',
      message: 'broker answered 403: role sidecar-it is not permitted in namespace n1',
    })
  })

  it('answers 503 JSON while the broker is unreachable at start', async () => {
    const b = await brokerWith(3600)
    await b.close()
    const sp = await sidecarFor(b, [], false)
    const res = await getCreds(sp)
    assert.equal(res.status, 503)
    assert.equal(res.headers.get('content-type'), 'application/json')
    assert.equal(((await res.json()) as { code: string }).code, 'CredentialsNotReady')
    assert.equal((await fetch(`${sp.url}/readyz`)).status, 503)
  })

  it('refuses to start on any address but 127.0.0.1', async () => {
    const b = await brokerWith(3600)
    await assert.rejects(sidecarFor(b, ['--bind-address=0.0.0.0']), /only 127\.0\.0\.1 is allowed/)
  })
})

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.on('connect', () => resolve(s))
    s.on('error', () => resolve(s))
  })
}

function rawRequest(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(Buffer.from(payload, 'latin1')))
    let data = ''
    s.on('data', (d) => (data += d.toString('latin1')))
    s.on('end', () => resolve(data))
    s.on('close', () => resolve(data))
    s.on('error', reject)
    s.setTimeout(5000, () => s.destroy(new Error('timeout')))
  })
}

describe('sidecar probe listener', () => {
  it('serves /healthz and /readyz on the health port, and nothing else', async () => {
    const b = await brokerWith(3600)
    const port = await freePort()
    const sp = await sidecarFor(b, [`--health-port=${port}`])
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200)
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200)
    const creds = await fetch(`http://127.0.0.1:${port}/v1/credentials`, {
      headers: { authorization: readSecret(sp) },
    })
    assert.equal(creds.status, 404)
    assert.ok(!(await creds.text()).includes('SecretAccessKey'))
  })
})

describe('sidecar across a restart and a broker CA rotation', () => {
  it('keeps the pod secret when its container restarts: a client that read it once still gets credentials', async () => {
    const b = await brokerWith(3600)
    const podDir = mkdtempSync(join(tmpdir(), 'iam-sidecar-pod-'))
    cleanups.push(async () => rmSync(podDir, { recursive: true, force: true }))
    const first = await startSidecar({
      brokerUrl: b.url,
      caFile: cluster.info.caCertFile,
      token: SA_TOKEN,
      podDir,
    })
    // What botocore 1.32 to 1.34.40 does: read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE once.
    const readOnce = readSecret(first)
    await first.stop()
    // The kubelet starts the container again with the same memory emptyDir.
    const again = await startSidecar({
      brokerUrl: b.url,
      caFile: cluster.info.caCertFile,
      token: SA_TOKEN,
      podDir,
    })
    cleanups.push(() => again.stop())
    assert.equal(readSecret(again), readOnce, 'the secret file is unchanged')
    assert.equal((await getCreds(again, { authorization: readOnce })).status, 200)
    assert.match(again.output(), /"reusedFromLastRun":true/)
  })

  it('replaces a secret file that is not one of its own', async () => {
    const b = await brokerWith(3600)
    const podDir = mkdtempSync(join(tmpdir(), 'iam-sidecar-pod-'))
    cleanups.push(async () => rmSync(podDir, { recursive: true, force: true }))
    mkdirSync(join(podDir, 'secret'))
    writeFileSync(join(podDir, 'secret', 'token'), 'chosen-by-someone-else')
    const sp = await startSidecar({
      brokerUrl: b.url,
      caFile: cluster.info.caCertFile,
      token: SA_TOKEN,
      podDir,
    })
    cleanups.push(() => sp.stop())
    assert.match(readSecret(sp), /^[A-Za-z0-9_-]{43}$/)
    assert.equal((await getCreds(sp, { authorization: 'chosen-by-someone-else' })).status, 401)
  })

  it('trusts a rotated broker CA at its next refresh, without a restart', async () => {
    const b = await brokerWith(10) // refresh at ~5 s, expiry at 10 s
    const podDir = mkdtempSync(join(tmpdir(), 'iam-sidecar-pod-'))
    cleanups.push(async () => rmSync(podDir, { recursive: true, force: true }))
    // The broker CA volume, as the kubelet keeps it: a file it replaces when the ConfigMap (or
    // ClusterTrustBundle) changes.
    const caFile = join(podDir, 'broker-ca.crt')
    copyFileSync(cluster.info.caCertFile, caFile)
    const sp = await startSidecar({ brokerUrl: b.url, caFile, token: SA_TOKEN, podDir })
    cleanups.push(() => sp.stop())
    const before = (await (await getCreds(sp)).json()) as { AccessKeyId: string }
    // A new CA: the broker serves a certificate from it, and the volume gets the new bundle.
    const pkiDir = mkdtempSync(join(tmpdir(), 'iam-sidecar-ca2-'))
    cleanups.push(async () => rmSync(pkiDir, { recursive: true, force: true }))
    const next = createPki(pkiDir)
    b.rotate(next.issueServing('test-broker'))
    writeFileSync(`${caFile}.tmp`, readFileSync(next.caCert))
    renameSync(`${caFile}.tmp`, caFile)
    // Past the first credentials' expiry: only a refresh through the new CA can answer 200.
    await sleep(11_000)
    const res = await getCreds(sp)
    const after = (await res.json()) as { AccessKeyId?: string; code?: string }
    assert.equal(res.status, 200, JSON.stringify(after))
    assert.notEqual(after.AccessKeyId, before.AccessKeyId)
    assert.match(sp.output(), /broker CA changed/)
  })
})
