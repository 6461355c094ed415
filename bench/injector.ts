// npm run bench:injector: the admission webhook's cost.
// - review latency in process: the Hono app with in-memory lookups, AdmissionReview v1 bodies for a
//   realistic pod CREATE at a steady 200 reviews/s, each timed from its scheduled start (so
//   queueing counts) to the parsed response; a 2 s warm-up at the same rate is not counted.
// - pod creation through the real API server: the real injector behind a
//   MutatingWebhookConfiguration, pods created one at a time in a namespace the webhook selects
//   and in one it does not (alternating), each createNamespacedPod call timed.
// Writes bench/results/injector.json.
import { randomUUID } from 'node:crypto'
import {
  CoreV1Api,
  type V1Container,
  type V1Namespace,
  type V1Pod,
  type V1ServiceAccount,
} from '@kubernetes/client-node'
import { createInjectorApp } from '../injector/app.ts'
import { loadInjectorConfig } from '../injector/config.ts'
import { injectionConfigOf } from '../injector/plan-injection.ts'
import { InjectorMetrics } from '../injector/metrics.ts'
import { createLogger } from '../lib/log.ts'
import { startControlPlane } from '../test/peers/control-plane.ts'
import { makeTestCluster, type TestCluster } from '../test/peers/cluster.ts'
import { startTestInjector, waitForWebhook } from '../test/support/injector-fixture.ts'
import { createServiceAccount } from '../test/support/pods.ts'
import { machine, median, writeResults } from './results.ts'

const RATE = 200
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15)
const WARM_SECONDS = 2
const PODS = Number(process.env.BENCH_PODS ?? 100)
/** Pods created in each namespace before timing starts (connections, caches, JIT). */
const WARM_PODS = 5
const ACCOUNT = '123456789012'
const BASE_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/`
const INJECTED = 'iam-sidecar/injected'
const PERMITTED = { 'iam-sidecar/permitted': `arn:aws:iam::${ACCOUNT}:role/(web|reader)` }
const ASKS = { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'web' }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const round3 = (x: number): number => Math.round(x * 1000) / 1000

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!
}

/** A container that passes Pod Security `restricted` on its own, with some env and mounts. */
function container(name: string, extra: Partial<V1Container> = {}): V1Container {
  return {
    name,
    image: 'registry.k8s.io/pause:3.10',
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'AWS_REGION', value: 'eu-west-1' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [{ name: 'data', mountPath: '/data' }],
    ...extra,
  }
}

/** 2 containers and 1 init container, annotated to be injected with a permitted role. */
function benchPod(name: string, annotations: Record<string, string>): V1Pod {
  return {
    metadata: { name, labels: { app: 'bench', tier: 'web' }, annotations },
    spec: {
      serviceAccountName: 'app',
      nodeName: 'node-a',
      initContainers: [container('migrate', { command: ['/pause'] })],
      containers: [
        container('main', { ports: [{ name: 'http', containerPort: 8080 }] }),
        container('helper'),
      ],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
  }
}

// ---------------------------------------------------------------- in process

/** The pod as the API server hands it to webhooks: defaulted, with the kube-api-access volume. */
function reviewedPod(ns: string): V1Pod {
  const pod = benchPod('', ASKS)
  const apiAccess = {
    name: 'kube-api-access-x7k2p',
    mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
    readOnly: true,
  }
  const withToken = (c: V1Container): V1Container => ({
    ...c,
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
    volumeMounts: [...(c.volumeMounts ?? []), apiAccess],
  })
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'web-7d9f8b6c5d-',
      namespace: ns,
      labels: { app: 'bench', tier: 'web', 'pod-template-hash': '7d9f8b6c5d' },
      annotations: ASKS,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-7d9f8b6c5d',
          uid: randomUUID(),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      ...pod.spec!,
      nodeName: undefined,
      initContainers: pod.spec!.initContainers!.map(withToken),
      containers: pod.spec!.containers.map(withToken),
      volumes: [
        ...pod.spec!.volumes!,
        {
          name: apiAccess.name,
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              {
                configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
              },
              {
                downwardAPI: {
                  items: [
                    {
                      path: 'namespace',
                      fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
                    },
                  ],
                },
              },
            ],
          },
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      securityContext: {},
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
    },
  }
}

/** An AdmissionReview v1 for a pod CREATE, as JSON, with `uid` as its request uid. */
function reviewBody(uid: string, ns: string, pod: V1Pod): string {
  const gvk = { group: '', version: 'v1', kind: 'Pod' }
  const gvr = { group: '', version: 'v1', resource: 'pods' }
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      namespace: ns,
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        uid: randomUUID(),
        groups: [
          'system:serviceaccounts',
          'system:serviceaccounts:kube-system',
          'system:authenticated',
        ],
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  })
}

function inProcessApp(ns: string): {
  app: ReturnType<typeof createInjectorApp>
  logLines: () => number
} {
  const cfg = loadInjectorConfig(['--tls-self-bootstrap', `--base-role-arn=${BASE_ROLE_ARN}`], {})
  const authoriseConfig = injectionConfigOf(cfg)
  const namespace: V1Namespace = {
    metadata: {
      name: ns,
      uid: randomUUID(),
      labels: { 'kubernetes.io/metadata.name': ns },
      annotations: PERMITTED,
    },
  }
  const sa: V1ServiceAccount = { metadata: { name: 'app', namespace: ns, uid: randomUUID() } }
  // Logged at the default level (info: one line per injected pod), formatted but not printed.
  let lines = 0
  const log = createLogger({
    level: cfg.logLevel,
    component: 'injector',
    write: () => void lines++,
  })
  const app = createInjectorApp({
    lookups: {
      namespace: async (name) => (name === ns ? namespace : undefined),
      serviceAccount: async (n, name) => (n === ns && name === 'app' ? sa : undefined),
    },
    config: () => authoriseConfig,
    ready: () => true,
    metrics: new InjectorMetrics(),
    log,
  })
  return { app, logLines: () => lines }
}

/** What is wrong with a response to review `uid`, or undefined when it injects. */
function checkResponse(uid: string, status: number, out: unknown): string | undefined {
  const r = (
    out as { response?: { uid?: string; allowed?: boolean; patchType?: string; patch?: string } }
  ).response
  if (status !== 200) return `HTTP ${status}: ${JSON.stringify(out)}`
  if (r?.uid !== uid) return `uid ${String(r?.uid)} for ${uid}`
  if (r.allowed !== true || r.patchType !== 'JSONPatch' || !r.patch)
    return `not allowed with a patch: ${JSON.stringify(r)}`
  return undefined
}

/** Resolves at `t` (performance.now() time), not before and at most a loop turn after: a timer
 * sleeps to 1.5 ms before, then setImmediate polls (libuv timers have 1 ms granularity and may
 * fire early or late by about that, which would flatter p50 and add noise to p99). */
async function startAt(t: number): Promise<void> {
  const wait = t - performance.now()
  if (wait > 1.5) await sleep(wait - 1.5)
  while (performance.now() < t) await new Promise((r) => setImmediate(r))
}

interface Run {
  /** Scheduled start to parsed response, ms. */
  readonly latencies: number[]
  /** How late each request actually started (timer and queueing), ms. */
  readonly lateness: number[]
  readonly failures: string[]
}

/** `count` reviews, request i starting at t0 + i * (1000 / RATE) ms by the wall clock. */
async function steadyRun(
  app: ReturnType<typeof createInjectorApp>,
  bodies: readonly { uid: string; body: string }[],
): Promise<Run> {
  const run: Run = { latencies: [], lateness: [], failures: [] }
  const interval = 1000 / RATE
  const inflight: Promise<void>[] = []
  const one = async (i: number, scheduled: number): Promise<void> => {
    const { uid, body } = bodies[i]!
    run.lateness.push(performance.now() - scheduled)
    const res = await app.request('/mutate', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    const out: unknown = await res.json()
    run.latencies.push(performance.now() - scheduled)
    const wrong = checkResponse(uid, res.status, out)
    if (wrong) run.failures.push(wrong)
  }
  const t0 = performance.now() + 10
  for (let i = 0; i < bodies.length; i++) {
    const scheduled = t0 + i * interval
    await startAt(scheduled)
    inflight.push(one(i, scheduled).catch((err: unknown) => void run.failures.push(String(err))))
  }
  await Promise.all(inflight)
  return run
}

async function reviewLatency(): Promise<{ p50: number; p99: number; reviews: number }> {
  const ns = 'bench-inject'
  const { app, logLines } = inProcessApp(ns)
  const pod = reviewedPod(ns)
  const bodies = (n: number): { uid: string; body: string }[] =>
    Array.from({ length: n }, () => {
      const uid = randomUUID()
      return { uid, body: reviewBody(uid, ns, pod) }
    })
  console.log(`# in process: ${WARM_SECONDS} s warm-up, then ${SECONDS} s at ${RATE} reviews/s`)
  const warm = await steadyRun(app, bodies(WARM_SECONDS * RATE))
  const run = await steadyRun(app, bodies(SECONDS * RATE))
  const failures = [...warm.failures, ...run.failures]
  if (failures.length > 0)
    throw new Error(`${failures.length} reviews did not inject; the first: ${failures[0]}`)
  const sorted = [...run.latencies].sort((a, b) => a - b)
  const late = [...run.lateness].sort((a, b) => a - b)
  console.log(
    `# ${sorted.length} reviews: p50 ${round3(percentile(sorted, 0.5))} ms, p99 ${round3(percentile(sorted, 0.99))} ms, max ${round3(sorted.at(-1)!)} ms; start lateness p99 ${round3(percentile(late, 0.99))} ms; ${logLines()} log lines`,
  )
  return {
    p50: round3(percentile(sorted, 0.5)),
    p99: round3(percentile(sorted, 0.99)),
    reviews: sorted.length,
  }
}

// ---------------------------------------------------------------- through the API server

/** Creates WARM_PODS + PODS pods in each namespace, alternating; times each create after the
 * warm-up and checks that only the pods of namespace `hooked` came back injected. */
async function timeCreates(
  cluster: TestCluster,
  hooked: string,
  plain: string,
): Promise<{ hooked: number[]; plain: number[] }> {
  const core = cluster.kc.makeApiClient(CoreV1Api)
  const create = async (namespace: string, name: string): Promise<{ ms: number; pod: V1Pod }> => {
    const t = performance.now()
    const pod = await core.createNamespacedPod({ namespace, body: benchPod(name, ASKS) })
    return { ms: performance.now() - t, pod }
  }
  const times = { hooked: [] as number[], plain: [] as number[] }
  for (let i = 0; i < WARM_PODS + PODS; i++) {
    const a = await create(hooked, `bench-${i}`)
    const b = await create(plain, `bench-${i}`)
    if (a.pod.metadata?.labels?.[INJECTED] !== 'true')
      throw new Error(`${hooked}/bench-${i} came back without the ${INJECTED} label`)
    if (
      b.pod.metadata?.labels?.[INJECTED] !== undefined ||
      b.pod.spec?.initContainers?.length !== 1
    )
      throw new Error(`${plain}/bench-${i} was injected, yet the webhook does not select it`)
    if (i < WARM_PODS) continue
    times.hooked.push(a.ms)
    times.plain.push(b.ms)
  }
  return times
}

async function podCreation(): Promise<{ withWebhook: number; withoutWebhook: number }> {
  console.log('# starting the control plane')
  const plane = await startControlPlane({ controllerManager: false })
  try {
    const { cluster } = makeTestCluster(plane)
    const injector = await startTestInjector(cluster, [
      `--base-role-arn=${BASE_ROLE_ARN}`,
      '--log-level=warn',
    ])
    try {
      const restricted = { 'pod-security.kubernetes.io/enforce': 'restricted' }
      const selected = { ...injector.selector, ...restricted }
      const hooked = await cluster.freshNamespace('bench-hooked', selected, PERMITTED)
      const plain = await cluster.freshNamespace('bench-plain', restricted, PERMITTED)
      await createServiceAccount(cluster, hooked)
      await createServiceAccount(cluster, plain)
      await waitForWebhook(cluster, hooked, () => benchPod(`probe-${Date.now()}`, ASKS))
      console.log(`# ${WARM_PODS} warm-up pods, then ${PODS} pods in each namespace, alternating`)
      const times = await timeCreates(cluster, hooked, plain)
      const h = [...times.hooked].sort((x, y) => x - y)
      const p = [...times.plain].sort((x, y) => x - y)
      console.log(
        `# with webhook: median ${round3(median(h))} ms, p90 ${round3(percentile(h, 0.9))} ms; without: median ${round3(median(p))} ms, p90 ${round3(percentile(p, 0.9))} ms`,
      )
      return { withWebhook: round3(median(h)), withoutWebhook: round3(median(p)) }
    } finally {
      await injector.close()
    }
  } finally {
    await plane.stop()
  }
}

async function main(): Promise<void> {
  const review = await reviewLatency()
  await sleep(100)
  const pods = await podCreation()
  const results = {
    review_p50_ms: review.p50,
    review_p99_ms: review.p99,
    pod_create_ms_with_webhook: pods.withWebhook,
    pod_create_ms_without_webhook: pods.withoutWebhook,
    node_version: process.version,
    machine: machine(),
  }
  if (review.p99 > 5) console.warn(`# WARNING: review p99 ${review.p99} ms is over the 5 ms target`)
  writeResults('injector.json', results)
}

await main()
