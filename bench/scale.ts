// npm run bench:scale → bench/results/scale.json: the broker process in a cluster of 50,000 pods,
// 10,000 of them injected, across 500 namespaces (the real API server and etcd; pods are bound
// to fake nodes and never run: no kubelet is needed to hold them). Pod bodies are sized like real
// ones (env, resources, probes, mounts; the injected ones with the sidecar as the injector writes
// it), since what the broker's informers keep of them is what this measures.
//   broker_ready_seconds       broker process start → /readyz 200 with that cluster
//   broker_rss_mib_steady      its RSS 15 s after ready, no requests
//   storm_*                    every injected pod asks for its first credentials at once, with
//                              STS (moto behind a shim) 50 ms slower per AssumeRole; 503s are
//                              retried after 1 s, as a sidecar does
//   token_reviews_per_pod_hour steady state on the compressed clock: one per sidecar fetch (a
//                              review is reused for 60 s at most and fetches are ~30 min apart)
// BENCH_SCALE_PODS, BENCH_SCALE_INJECTED and BENCH_SCALE_NAMESPACES make it smaller.
import { CoreV1Api, type V1Container, type V1Pod } from '@kubernetes/client-node'
import { POD_LAYOUT as L } from '../lib/sidecar-pod-layout.ts'
import { makeTestCluster } from '../test/peers/cluster.ts'
import { startControlPlane } from '../test/peers/control-plane.ts'
import { startBrokerProcess } from '../test/support/broker-process.ts'
import { podToken } from '../test/support/pods.ts'
import { StsThrottleShim } from '../test/support/sts-throttle-shim.ts'
import { inBatches, rssMb, storm } from './broker-load.ts'
import { sessionTimingCosts } from './compressed-clock.ts'
import { machine, writeResults } from './results.ts'

const PODS = Number(process.env.BENCH_SCALE_PODS ?? 50_000)
const INJECTED = Number(process.env.BENCH_SCALE_INJECTED ?? 10_000)
const NAMESPACES = Number(process.env.BENCH_SCALE_NAMESPACES ?? 500)
const NODES = 100

const env = Array.from({ length: 25 }, (_, i) => ({
  name: `APP_SETTING_${i}`,
  value: `value-${i}-${'x'.repeat(24)}`,
}))

function appContainer(i: number): V1Container {
  return {
    name: 'app',
    image: `registry.example.com/team/app:1.${i % 50}`,
    env,
    ports: [{ name: 'http', containerPort: 8080 }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 10 },
    volumeMounts: [{ name: 'config', mountPath: '/etc/app', readOnly: true }],
  }
}

/** A pod as it is stored; injected ones carry the label and the sidecar as the injector adds it. */
function podBody(ns: number, i: number, injected: boolean): V1Pod {
  const app = appContainer(i)
  const sidecar: V1Container = {
    name: L.containerName,
    image: 'iam-sidecar:bench',
    restartPolicy: 'Always',
    args: ['--port=9911', '--health-port=9912', '--broker-url=https://iam-sidecar-broker:443'],
    resources: { requests: { cpu: '5m', memory: '24Mi' }, limits: { memory: '64Mi' } },
    volumeMounts: [
      { name: L.tokenVolume, mountPath: L.tokenDir, readOnly: true },
      { name: L.secretVolume, mountPath: L.secretDir },
    ],
  }
  return {
    metadata: {
      name: `pod-${i}`,
      labels: {
        app: `app-${i % 20}`,
        'pod-template-hash': 'abcdef1234',
        ...(injected ? { 'iam-sidecar/injected': 'true' } : {}),
      },
      annotations: injected ? { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'bench' } : {},
    },
    spec: {
      serviceAccountName: 'app',
      nodeName: `node-${(ns * 7 + i) % NODES}`,
      initContainers: injected ? [sidecar] : [],
      containers: [
        injected
          ? {
              ...app,
              env: [
                ...env,
                {
                  name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI',
                  value: 'http://127.0.0.1:9911/v1/credentials',
                },
              ],
            }
          : app,
      ],
      volumes: [
        { name: 'config', configMap: { name: 'app-config' } },
        ...(injected
          ? [
              {
                name: L.tokenVolume,
                projected: {
                  sources: [
                    {
                      serviceAccountToken: {
                        audience: 'iam-sidecar',
                        expirationSeconds: 3600,
                        path: 'token',
                      },
                    },
                  ],
                },
              },
              { name: L.secretVolume, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
            ]
          : []),
      ],
    },
  }
}

async function main(): Promise<void> {
  console.log(`# control plane; ${PODS} pods (${INJECTED} injected) in ${NAMESPACES} namespaces`)
  const plane = await startControlPlane({ controllerManager: false })
  const shim = await StsThrottleShim.start({ upstream: plane.stsEndpoint })
  try {
    const { cluster } = makeTestCluster(plane)
    const core = cluster.kc.makeApiClient(CoreV1Api)
    const namespaces = await inBatches(
      Array.from({ length: NAMESPACES }, (_, n) => n),
      25,
      async (n) => {
        const name = await cluster.freshNamespace(
          `scale-${n}`,
          {},
          { 'iam-sidecar/permitted': '.*' },
        )
        await core.createNamespacedServiceAccount({
          namespace: name,
          body: { metadata: { name: 'app' } },
        })
        return name
      },
    )
    const perNs = Math.ceil(PODS / NAMESPACES)
    const injectedPerNs = Math.ceil(INJECTED / NAMESPACES)
    const plan = Array.from({ length: PODS }, (_, k) => {
      const n = k % NAMESPACES
      const i = Math.floor(k / NAMESPACES)
      return { n, i, injected: i < injectedPerNs && i < perNs }
    })
    const t0 = performance.now()
    const created = await inBatches(plan, 64, (p) =>
      core.createNamespacedPod({
        namespace: namespaces[p.n]!,
        body: podBody(p.n, p.i, p.injected),
      }),
    )
    const injected = created.filter((p) => p.metadata?.labels?.['iam-sidecar/injected'] === 'true')
    console.log(
      `# created ${created.length} pods in ${Math.round((performance.now() - t0) / 1000)} s; tokens for ${injected.length}`,
    )
    const tokens = await inBatches(injected, 64, (pod) => podToken(cluster, pod))

    const started = performance.now()
    const broker = await startBrokerProcess(cluster, [
      `--sts-endpoint=${shim.url}`,
      '--sts-rate=500',
      '--sts-burst=500',
      '--log-level=warn',
    ])
    const readySeconds = (performance.now() - started) / 1000
    const pid = broker.child.pid!
    try {
      await new Promise((r) => setTimeout(r, 15_000))
      const steady = rssMb(pid)
      console.log(`# ready in ${readySeconds.toFixed(1)} s, steady RSS ${steady} MiB; storm`)
      shim.latencyMs = 50
      const st = await storm({ url: broker.url, caFile: broker.caFile, pid }, tokens, shim)
      const costs = await sessionTimingCosts({
        pods: 50,
        hours: 6,
        sessionMinutes: 60,
        scope: 'pod',
      })
      writeResults('scale.json', {
        cluster_pods: created.length,
        injected_pods: injected.length,
        namespaces: NAMESPACES,
        broker_ready_seconds: Math.round(readySeconds * 10) / 10,
        broker_rss_mib_steady: steady,
        storm_pods: tokens.length,
        storm_seconds: Math.round(st.seconds * 100) / 100,
        storm_sts_calls: st.stsCalls,
        storm_sessions: st.sessions,
        storm_peak_rss_mib: st.peakRssMb,
        token_reviews_per_pod_hour: Math.round(costs.fetchesPerPodHour * 100) / 100,
        node_version: process.version,
        machine: machine(),
      })
    } finally {
      await broker.stop()
    }
  } finally {
    await shim.close()
    await plane.stop()
  }
}

await main()
