// Faults of the broker's own AWS identity (issue 11 item 1), on a moto that enforces IAM
// (INITIAL_NO_AUTH_ACTION_COUNT): moto itself answers InvalidClientTokenId for a key it does not
// know, and AccessDenied for a user whose policy does not allow sts:AssumeRole. Those are the
// broker's faults, not the pods': 503 (the sidecar keeps what it holds), readiness, metric, Event.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CoreV1Api } from '@kubernetes/client-node'
import { startBroker, type BrokerRuntime } from '../../broker/main.ts'
import { loadBrokerConfig } from '../../broker/config.ts'
import { createLogger } from '../../lib/log.ts'
import { ConfigError } from '../../lib/flags.ts'
import { useCluster } from '../peers/cluster.ts'
import { startMoto, writeKubeconfig } from '../peers/control-plane.ts'
import { peerBinary } from '../peers/paths.ts'
import type { PeerProcess } from '../peers/process.ts'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { BROKER_AWS_CREDENTIALS, grantBrokerRbac, httpsGet } from '../support/broker-fixture.ts'
import { createPod, createServiceAccount, podToken } from '../support/pods.ts'

const cluster = await useCluster()
const ACCOUNT = '123456789012'
const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-identity-'))
const procs: PeerProcess[] = []
let sts = ''
let brokerUser: { accessKeyId: string; secretAccessKey: string }

/** An IAM query call to moto while it still skips authentication (its first N actions). */
async function unauthenticatedIam(params: Record<string, string>): Promise<string> {
  const res = await fetch(`${sts}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      // moto routes by the credential scope's service; the signature is not checked yet.
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIABOOTSTRAP/20261202/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: new URLSearchParams({ ...params, Version: '2010-05-08' }).toString(),
  })
  const text = await res.text()
  assert.equal(res.status, 200, text)
  return text
}

before(async () => {
  // Exactly the two bootstrap calls below go unauthenticated; moto checks every later request.
  sts = await startMoto(peerBinary('motoServer'), dir, procs, { INITIAL_NO_AUTH_ACTION_COUNT: '2' })
  await unauthenticatedIam({ Action: 'CreateUser', UserName: 'broker' })
  const key = await unauthenticatedIam({ Action: 'CreateAccessKey', UserName: 'broker' })
  brokerUser = {
    accessKeyId: /<AccessKeyId>([^<]+)</.exec(key)![1]!,
    secretAccessKey: /<SecretAccessKey>([^<]+)</.exec(key)![1]!,
  }
  await grantBrokerRbac(cluster)
})
after(async () => {
  for (const p of procs) await p.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function brokerWith(
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
  name: string,
  o: { stsEndpoint?: string; flags?: string[] } = {},
): Promise<BrokerRuntime & { url: string; logs: () => string }> {
  const kubeconfig = writeKubeconfig(mkdtempSync(join(dir, 'kc-')), {
    server: cluster.info.apiserverUrl,
    caFile: cluster.info.caCertFile,
    user: 'iam-sidecar-broker',
    token: cluster.info.tokens['iam-sidecar-broker'],
  })
  const tls = cluster.pki.issueServing(`identity-${name}`)
  const cfg = loadBrokerConfig(
    [
      `--kubeconfig=${kubeconfig}`,
      `--tls-cert-file=${tls.cert}`,
      `--tls-key-file=${tls.key}`,
      '--port=0',
      '--bind-address=127.0.0.1',
      '--metrics-port=0',
      '--metrics-bind-address=127.0.0.1',
      `--sts-endpoint=${o.stsEndpoint ?? sts}`,
      '--cluster-name=test-cluster',
      // Known without GetCallerIdentity, so readiness before this fix did not depend on it.
      `--base-role-arn=arn:aws:iam::${ACCOUNT}:role/`,
      '--session-tags=false',
      ...(o.flags ?? []),
    ],
    {},
  )
  let out = ''
  const log = createLogger({ level: 'info', component: 'broker', write: (l) => (out += l + '\n') })
  const rt = await startBroker(cfg, { awsCredentials: async () => creds, log })
  return { ...rt, url: `https://127.0.0.1:${rt.port}`, logs: () => out }
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

function waitReady(url: string): Promise<true> {
  return waitFor('readiness', async () =>
    (await httpsGet(`${url}/readyz`, cluster.info.caCertFile)).status === 200 ? true : undefined,
  )
}

async function askAs(ns: string, pod: string, role: string, url: string): Promise<string> {
  const r = await askFull(ns, pod, role, url)
  return `${r.status} ${(JSON.parse(r.body) as { code?: string }).code ?? 'ok'}`
}

async function askFull(
  ns: string,
  pod: string,
  role: string,
  url: string,
): Promise<{ status: number; body: string }> {
  const p = await createPod(cluster, {
    namespace: ns,
    name: pod,
    annotations: { 'iam-sidecar/role': role },
  })
  const token = await podToken(cluster, p)
  return httpsGet(`${url}/v1/credentials`, cluster.info.caCertFile, {
    authorization: `Bearer ${token}`,
  })
}

describe("faults of the broker's own AWS identity, on moto", () => {
  it('a key STS does not know: 503 BrokerIdentityFault to pods, an Event, readiness and the metric say what to fix', async () => {
    const broker = await brokerWith(
      { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'not-a-real-secret' },
      'unknown-key',
    )
    try {
      const ready = await waitFor('readiness to report the identity', async () => {
        const r = await httpsGet(`${broker.url}/readyz`, cluster.info.caCertFile)
        return r.status === 503 && r.body.includes('BrokerIdentityFault') ? r.body : undefined
      })
      assert.match(ready, /InvalidClientTokenId/)
      const ns = await cluster.freshNamespace(
        'identity-key',
        {},
        { 'iam-sidecar/permitted': `arn:aws:iam::${ACCOUNT}:role/app-.*` },
      )
      await createServiceAccount(cluster, ns, 'app')
      assert.equal(await askAs(ns, 'p1', 'app-a', broker.url), '503 BrokerIdentityFault')
      const events = await waitFor('the Event', async () => {
        const list = await cluster.kc
          .makeApiClient(CoreV1Api)
          .listNamespacedEvent({ namespace: ns })
        const e = list.items.find((i) => i.reason === 'IamSidecarBrokerIdentityFault')
        return e?.message
      })
      assert.match(events, /not this pod/)
      const metrics = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text()
      assert.match(metrics, /iam_sidecar_broker_identity_ok 0/)
      assert.match(
        metrics,
        /iam_sidecar_broker_identity_faults_total\{code="InvalidClientTokenId"\} [1-9]/,
      )
      assert.ok(!broker.logs().includes('not-a-real-secret'), 'the secret reached a log')
    } finally {
      await broker.close()
    }
  })

  /** A role session from the shared moto (which does not enforce IAM): GetCallerIdentity names
   * it as assumed-role, as it does for IRSA, Pod Identity and instance roles. */
  async function roleSession() {
    const chained = await new STSClient({
      region: 'us-east-1',
      endpoint: cluster.info.stsEndpoint,
      credentials: BROKER_AWS_CREDENTIALS,
    }).send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${ACCOUNT}:role/broker`,
        RoleSessionName: 'broker-pod',
      }),
    )
    const c = chained.Credentials!
    return {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
    }
  }

  it('a broker whose identity is a role session caps --session-duration=12h at the 1h STS allows', async () => {
    const broker = await brokerWith(await roleSession(), 'chained', {
      stsEndpoint: cluster.info.stsEndpoint,
      flags: ['--session-duration=12h'],
    })
    try {
      await waitReady(broker.url)
      const ns = await cluster.freshNamespace(
        'identity-chained',
        {},
        { 'iam-sidecar/permitted': `arn:aws:iam::${ACCOUNT}:role/app-.*` },
      )
      await createServiceAccount(cluster, ns, 'app')
      const r = await askFull(ns, 'c1', 'app-a', broker.url)
      assert.equal(r.status, 200, r.body)
      const left =
        Date.parse((JSON.parse(r.body) as { Expiration: string }).Expiration) - Date.now()
      assert.ok(left <= 3_600_000 + 5_000, `session of ${left} ms asked for`)
      assert.ok(left > 3_000_000, `session of ${left} ms`)
      assert.match(broker.logs(), /capped at 1h/)
    } finally {
      await broker.close()
    }
  })

  it('a role-session broker refuses to start with a cache threshold set by hand that does not fit the hour', async () => {
    await assert.rejects(
      brokerWith(await roleSession(), 'chained-threshold', {
        stsEndpoint: cluster.info.stsEndpoint,
        flags: ['--session-duration=12h', '--cache-min-remaining=4h'],
      }),
      (e: Error) =>
        e instanceof ConfigError &&
        /capped at 1h because the broker identity arn:aws:sts::\d{12}:assumed-role\/broker\/broker-pod is a role session/.test(
          e.message,
        ) &&
        /--cache-min-remaining 4h: set it above 30m and below --session-duration 1h/.test(
          e.message,
        ),
    )
  })

  it('a broker user without sts:AssumeRole: denials of three different roles are answered as ours', async () => {
    const broker = await brokerWith(brokerUser, 'no-policy')
    try {
      await waitReady(broker.url)
      const ns = await cluster.freshNamespace(
        'identity-policy',
        {},
        { 'iam-sidecar/permitted': `arn:aws:iam::${ACCOUNT}:role/app-.*` },
      )
      await createServiceAccount(cluster, ns, 'app')
      const answers = []
      for (const [i, role] of ['app-a', 'app-b', 'app-c'].entries())
        answers.push(await askAs(ns, `q${i}`, role, broker.url))
      // One role that refuses the broker is that pod's problem; three in a row, none served, are
      // the broker's (moto's AccessDenied does not say which policy denied).
      assert.deepEqual(answers, [
        '403 AssumeRoleDenied',
        '403 AssumeRoleDenied',
        '503 BrokerIdentityFault',
      ])
      const r = await httpsGet(`${broker.url}/readyz`, cluster.info.caCertFile)
      assert.equal(
        r.status,
        200,
        'a role-specific denial must not take the broker out of its Service',
      )
    } finally {
      await broker.close()
    }
  })
})
