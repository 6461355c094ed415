// Failure behaviour (DESIGN.md) under injected faults on real peers: toxiproxy between the
// sidecar and the broker and between the broker and the API server, the STS throttling shim in
// front of moto, and a broker process killed with SIGKILL. A real SDK client (js-v3, one process,
// one call every 500 ms) keeps calling through the sidecar and must see no error while cached
// credentials are valid. Figures are printed as `# faults: …` diagnostics.
// Longer variants (API server unreachable for two minutes) are in bench/reliability-faults.ts.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { useCluster } from '../peers/cluster.ts'
import { sdkClients } from '../sdk-clients/clients.ts'
import { httpsGet } from '../support/broker-fixture.ts'
import { startBrokerProcess, type BrokerProcess } from '../support/broker-process.ts'
import { createPod, createServiceAccount, podToken } from '../support/pods.ts'
import { sdkEnv } from '../support/run-client.ts'
import { startSidecar, type SidecarProcess } from '../support/sidecar-process.ts'
import { startTestBroker, type BrokerMode } from '../support/test-broker.ts'
import {
  apiserverOutageScenario,
  FAULT_ACCOUNT,
  sleep,
  startLoopClient,
  startToxiproxy,
  stsThrottleScenario,
  waitFreshCredentials,
  type LoopClient,
  type Proxy,
  type Toxiproxy,
} from '../support/toxiproxy.ts'

const cluster = await useCluster()
const jsV3 = sdkClients.find((c) => c.id === 'js-v3')!
const CLIENT_INTERVAL_MS = 500
const ROLE = `arn:aws:iam::${FAULT_ACCOUNT}:role/faults`

let toxi: Toxiproxy
const cleanups: (() => Promise<unknown>)[] = []
before(async () => {
  toxi = await startToxiproxy()
})
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined)
  await toxi?.stop()
})

function figures(name: string, value: unknown): void {
  console.log(`# faults: ${name} ${JSON.stringify(value)}`)
}

function loopClient(sidecar: SidecarProcess): LoopClient {
  const env = sdkEnv({
    credentialsUrl: `${sidecar.url}/v1/credentials`,
    tokenFile: sidecar.secretFile,
    stsEndpoint: cluster.info.stsEndpoint,
    home: '/nonexistent',
  })
  const client = startLoopClient(jsV3, env, CLIENT_INTERVAL_MS)
  cleanups.push(() => client.stop())
  return client
}

const failedRefreshes = (sidecar: SidecarProcess): number =>
  sidecar.output().split('credential refresh failed').length - 1

describe('faults between sidecar, broker, STS and API server', { concurrency: false }, () => {
  it('the sidecar serves cached credentials through latency, stalls, resets and 503s from the broker', async () => {
    // Short sessions so the sidecar refreshes during each fault: a 40 s session is refreshed at
    // half-life (18–20 s in), leaving ~18 s of validity for the fault and the backoff after it.
    const SESSION_S = 40
    const FAULT_MS = 7_000
    const token = 'faults-sa-token'
    const broker = await startTestBroker({
      tls: cluster.pki.issueServing('faults-test-broker'),
      stsEndpoint: cluster.info.stsEndpoint,
      roleArn: ROLE,
      token,
      durationSeconds: SESSION_S,
      sessionPrefix: 'faults',
    })
    cleanups.push(() => broker.close())
    const proxy = await toxi.createProxy('sidecar-test-broker', new URL(broker.url).host)
    const sidecar = await startSidecar({
      brokerUrl: `https://${proxy.listen}`,
      caFile: cluster.info.caCertFile,
      token,
      // 3 s: above the 2 s latency fault (the TLS handshake waits 2 s per round trip), so a slow
      // link still works, while a stalled one fails fast enough to be retried inside the fault.
      extraArgs: ['--upstream-timeout=3s'],
    })
    cleanups.push(() => sidecar.stop())
    const client = loopClient(sidecar)
    let held = await waitFreshCredentials(sidecar, 0, 5_000)

    const faults: {
      name: string
      mustFail: boolean
      apply(): Promise<() => Promise<void>>
    }[] = [
      {
        name: 'latency 2 s',
        mustFail: false,
        apply: toxic(proxy, { type: 'latency', attributes: { latency: 2_000 } }),
      },
      {
        name: 'stalled connections (timeout toxic)',
        mustFail: true,
        apply: toxic(proxy, { type: 'timeout', attributes: { timeout: 0 } }),
      },
      {
        name: 'connection resets',
        mustFail: true,
        apply: toxic(proxy, { type: 'reset_peer', attributes: { timeout: 0 } }),
      },
      {
        name: 'broker answers 503',
        mustFail: true,
        apply: async () => {
          const down: BrokerMode = {
            kind: 'status',
            status: 503,
            code: 'Unavailable',
            message: 'down',
          }
          broker.setFallback(down)
          return async () => broker.setFallback({ kind: 'ok' })
        },
      },
    ]
    const results: Record<string, { failedRefreshes: number; recoverySeconds: number }> = {}
    for (const f of faults) {
      // The next refresh is due 0.45–0.5 of the remaining life after the last one: start the
      // fault 1 s before the earliest moment, so the refresh (and the retries) fall inside it.
      const remaining = held.expiration - held.seenAt
      await sleep(held.seenAt + 0.45 * remaining - 1_000 - Date.now())
      const failedBefore = failedRefreshes(sidecar)
      const clear = await f.apply()
      await sleep(FAULT_MS)
      await clear()
      const clearedAt = Date.now()
      const next = await waitFreshCredentials(sidecar, held.expiration, 20_000)
      const recoverySeconds = Math.max(0, next.seenAt - clearedAt) / 1000
      results[f.name] = {
        failedRefreshes: failedRefreshes(sidecar) - failedBefore,
        recoverySeconds,
      }
      if (f.mustFail) {
        assert.ok(results[f.name]!.failedRefreshes > 0, `${f.name}: no refresh failed during it`)
      }
      // Within one (small) backoff cycle of the fault clearing.
      assert.ok(recoverySeconds < 10, `${f.name}: fresh credentials ${recoverySeconds} s after`)
      assert.equal(client.errors(), 0, `${f.name}: SDK error: ${client.stderr()}`)
      held = next
    }
    const successes = client.successes()
    assert.equal(await client.stop(), true, `SDK client ended early: ${client.stderr()}`)
    assert.equal(client.errors(), 0)
    assert.ok(successes > 50, `only ${successes} SDK calls`)
    figures('sidecar-broker', { sdkCalls: successes, sdkErrors: 0, faults: results })
  })

  it('STS throttling: AssumeRole calls stay bounded (broker retries, token bucket, sidecar backoff)', async () => {
    const r = await stsThrottleScenario(cluster, { pods: 20, windowMs: 20_000, intervalMs: 3_000 })
    figures('sts-throttling', r)
    assert.ok(r.stsCallsHealthy > 0)
    // Bounded: at most 3x the healthy cold load, and never above the broker's 10/s bucket
    // (plus its burst of 20).
    assert.ok(
      r.stsCallsThrottled <= 3 * r.stsCallsHealthy,
      `throttled ${r.stsCallsThrottled} vs healthy ${r.stsCallsHealthy} AssumeRole calls`,
    )
    assert.ok(r.stsCallsThrottled <= (10 * r.windowSeconds + 20) * 1.1)
    // Throttling reaches the pods as retryable 503s, never as a denial.
    for (const key of Object.keys(r.throttledAnswers)) {
      assert.match(key, /^(200|503) /, `answer during throttling: ${key}`)
    }
    assert.ok(r.recoverySeconds < 10, `pods recovered ${r.recoverySeconds} s after throttling`)
  })

  it('API server unreachable: authorised pods keep being served, a new pod gets a 503 until it is back', async () => {
    const r = await apiserverOutageScenario(cluster, toxi, { outageMs: 20_000, pollMs: 1_000 })
    figures('apiserver-outage', r)
    assert.ok(r.knownPodCalls >= 10)
    assert.equal(r.knownPodErrors, 0)
    const answers = Object.keys(r.newPodAnswers)
    assert.deepEqual(answers, ['503 TokenReviewUnavailable'])
    assert.ok(r.recoverySeconds < 10, `new pod served ${r.recoverySeconds} s after the link`)
  })

  it('broker killed (SIGKILL) and restarted under load: no SDK error, sidecars fetch again', async () => {
    const ns = await cluster.freshNamespace(
      'faults-kill',
      {},
      { 'iam-sidecar/permitted': `arn:aws:iam::${FAULT_ACCOUNT}:role/app-.*` },
    )
    await createServiceAccount(cluster, ns, 'app', { 'iam-sidecar/role': 'app-reader' })
    const [running, late] = await Promise.all(
      ['running', 'late'].map(async (name) =>
        podToken(cluster, await createPod(cluster, { namespace: ns, name })),
      ),
    )
    let broker: BrokerProcess = await startBrokerProcess(cluster)
    const first = broker
    cleanups.push(() => first.stop())
    // The sidecars reach the broker through toxiproxy, so the restarted broker (on a new port)
    // is behind the same address.
    const proxy = await toxi.createProxy('sidecar-broker-process', new URL(broker.url).host)
    const sidecar = await startSidecar({
      brokerUrl: `https://${proxy.listen}`,
      caFile: broker.caFile,
      token: running!,
    })
    cleanups.push(() => sidecar.stop())
    const client = loopClient(sidecar)
    await sleep(2_000)
    broker.child.kill('SIGKILL')
    const killedAt = Date.now()
    // A pod that starts while the broker is down: its sidecar retries with backoff.
    const cold = await startSidecar({
      brokerUrl: `https://${proxy.listen}`,
      caFile: broker.caFile,
      token: late!,
      waitReady: false,
    })
    cleanups.push(() => cold.stop())
    await sleep(3_000)
    broker = await startBrokerProcess(cluster)
    const second = broker
    cleanups.push(() => second.stop())
    await proxy.setUpstream(new URL(broker.url).host)
    const backAt = Date.now()
    const fetched = await waitFreshCredentials(cold, 0, 20_000)
    const recoverySeconds = (fetched.seenAt - backAt) / 1000
    // The restarted broker serves the pod whose sidecar kept serving from its cache.
    const again = await httpsGet(`${broker.url}/v1/credentials`, broker.caFile, {
      authorization: `Bearer ${running!}`,
    })
    assert.equal(again.status, 200, again.body)
    await sleep(2_000)
    const successes = client.successes()
    assert.equal(await client.stop(), true, `SDK client ended early: ${client.stderr()}`)
    assert.equal(client.errors(), 0)
    assert.ok(failedRefreshes(cold) > 0, 'the cold sidecar never saw the broker down')
    figures('broker-restart', {
      downSeconds: (backAt - killedAt) / 1000,
      sdkCalls: successes,
      sdkErrors: 0,
      coldSidecarFailedFetches: failedRefreshes(cold),
      recoverySeconds,
    })
    assert.ok(recoverySeconds < 10, `cold sidecar got credentials ${recoverySeconds} s after`)
  })
})

function toxic(
  proxy: Proxy,
  t: Parameters<Proxy['addToxic']>[0],
): () => Promise<() => Promise<void>> {
  return async () => {
    const name = await proxy.addToxic(t)
    return () => proxy.removeToxic(name)
  }
}
