// Shutdown without failures: on SIGTERM the broker and the injector keep serving for
// --shutdown-delay while their readiness fails (the Service is taking them out), then finish
// what is in flight. Real clients: the sidecar's keep-alive HTTPS client shape against the broker
// process, and the kube-apiserver's own webhook client (server dry-run pod creations) against the
// injector. The rolling restart of both on a real node is in test/node/chart-on-node.test.ts.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:https'
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node'
import { useCluster } from '../peers/cluster.ts'
import { startBrokerProcess } from '../support/broker-process.ts'
import { startTestInjector, waitForWebhook } from '../support/injector-fixture.ts'
import { createPod, createServiceAccount, podToken } from '../support/pods.ts'

const cluster = await useCluster()
const DELAY_MS = 3000

interface Outcome {
  status: number
  connection: string | undefined
  error?: string
}

/** One GET over `agent`, as the sidecar's broker client makes it. */
function get(url: string, agent: Agent, headers: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(url, { agent, headers }, (res) => {
      res.resume()
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }),
      )
    })
    req.on('error', (err) => resolve({ status: 0, connection: undefined, error: err.message }))
    req.end()
  })
}

/** `workers` loops of `call` until `until` says stop; every outcome, in order. */
async function stream(
  workers: number,
  call: () => Promise<Outcome>,
  until: () => boolean,
): Promise<Outcome[]> {
  const all: Outcome[] = []
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!until()) all.push(await call())
    }),
  )
  return all
}

describe('drain on shutdown', () => {
  let ns: string
  before(async () => {
    ns = await cluster.freshNamespace('drain', {}, { 'iam-sidecar/permitted': '.*' })
    await createServiceAccount(cluster, ns)
  })

  it('the broker, sent SIGTERM under a stream of keep-alive credential fetches, fails none while it drains, then exits 0', async () => {
    const broker = await startBrokerProcess(cluster, [`--shutdown-delay=${DELAY_MS / 1000}s`])
    after(() => broker.stop())
    const pod = await createPod(cluster, {
      namespace: ns,
      name: 'drain-broker',
      annotations: { 'iam-sidecar/role': 'web' },
    })
    const token = await podToken(cluster, pod)
    const agent = new Agent({ keepAlive: true, maxSockets: 4, ca: readFileSync(broker.caFile) })
    const fetchCreds = (): Promise<Outcome> =>
      get(`${broker.url}/v1/credentials`, agent, { authorization: `Bearer ${token}` })
    assert.equal((await fetchCreds()).status, 200)
    // The Service stops sending new work within the delay; the stream stops a little before.
    let stopAt = Infinity
    const during = stream(4, fetchCreds, () => Date.now() > stopAt)
    await new Promise((r) => setTimeout(r, 300))
    const exited = new Promise<number | null>((r) => broker.child.once('exit', r))
    broker.child.kill('SIGTERM')
    stopAt = Date.now() + DELAY_MS - 500
    await new Promise((r) => setTimeout(r, 500))
    const fresh = new Agent({ ca: readFileSync(broker.caFile) })
    const readyz = await get(`${broker.url}/readyz`, fresh, {})
    const outcomes = await during
    const failed = outcomes.filter((o) => o.status !== 200)
    assert.deepEqual(failed, [], `${failed.length} of ${outcomes.length} fetches failed`)
    assert.ok(outcomes.length > 20, `${outcomes.length} fetches`)
    assert.equal(readyz.status, 503, 'readiness fails while draining')
    assert.ok(
      outcomes.some((o) => o.connection === 'close'),
      'keep-alive clients are told to reconnect elsewhere',
    )
    assert.equal(await exited, 0)
    assert.match(broker.output(), /"msg":"drained"/)
  })

  it('the injector, draining under a stream of admissions from the API server, fails none', async () => {
    const injector = await startTestInjector(cluster, ['--shutdown-delay=3s'])
    after(() => injector.close())
    const target = await cluster.freshNamespace('drain-inj', injector.selector, {
      'iam-sidecar/permitted': '.*',
    })
    await createServiceAccount(cluster, target)
    let n = 0
    const asking = (): V1Pod => ({
      metadata: {
        name: `p${n++}`,
        annotations: {
          'iam-sidecar/inject': 'true',
          'iam-sidecar/role': 'arn:aws:iam::123456789012:role/web',
        },
      },
      spec: { containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }] },
    })
    await waitForWebhook(cluster, target, asking)
    const core = cluster.kc.makeApiClient(CoreV1Api)
    const admit = async (): Promise<Outcome> => {
      try {
        const stored = await core.createNamespacedPod({
          namespace: target,
          dryRun: 'All',
          body: asking(),
        })
        const injected = stored.spec?.initContainers?.some((c) => c.name === 'iam-sidecar')
        return { status: injected ? 200 : 500, connection: undefined }
      } catch (err) {
        return { status: 0, connection: undefined, error: (err as Error).message.slice(0, 200) }
      }
    }
    let stopAt = Infinity
    const during = stream(3, admit, () => Date.now() > stopAt)
    await new Promise((r) => setTimeout(r, 300))
    const drained = injector.drain()
    stopAt = Date.now() + DELAY_MS - 500
    const outcomes = await during
    const failed = outcomes.filter((o) => o.status !== 200)
    assert.deepEqual(failed, [], `${failed.length} of ${outcomes.length} admissions failed`)
    assert.ok(outcomes.length > 10, `${outcomes.length} admissions`)
    await drained
    assert.match(injector.logs(), /"msg":"drained"/)
  })
})
