// `npm run bench:node` → bench/results/node.json: what an injected sidecar costs on a real kubelet.
//   sidecar_working_set_mib_idle       median over the injected pods of the sidecar container's
//                                      working set as the kubelet reports it (/stats/summary)
//   sidecar_working_set_mib_after_100k the same for one pod after 100k credential requests
//   sidecar_ready_ms                   sidecar container running → startup probe passed (median)
//   pod_ready_ms_injected / _plain     pod create → Ready, same app with and without injection
//   pods_injected                      injected pods that ran
// Pod status is polled from this process every 50 ms, so times include the kubelet's status
// reporting; the startup probe period (1 s) quantises sidecar_ready_ms.
import { execFileSync } from 'node:child_process'
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { POD_LAYOUT as L } from '../lib/sidecar-pod-layout.ts'
import {
  containerPid,
  loadImages,
  sidecarVolumeFile,
  startNodeCluster,
} from '../test/node/node-cluster.ts'
import { kubeFor, until, type Kube } from '../test/node/kubectl.ts'
import {
  appDeployment,
  installChart,
  podsOf,
  tenantNamespace,
  type Pod,
} from '../test/node/tenant.ts'
import { machine, median, writeResults } from './results.ts'

const PODS = Number(process.env.BENCH_NODE_PODS ?? 10)
const REQUESTS = Number(process.env.BENCH_NODE_REQUESTS ?? 100_000)
const round1 = (x: number): number => Math.round(x * 10) / 10

const node = await startNodeCluster({ log: (l) => console.log(`# node: ${l}`) })
// Pod status is polled with the API client (every 50 ms), not kubectl, for finer times.
const kc = new KubeConfig()
kc.loadFromFile(node.kubeconfig)
const core = kc.makeApiClient(CoreV1Api)
try {
  const kube = kubeFor(node)
  await loadImages(node, ['iam-sidecar', 'sdk-js-v3', 'sdk-go-v2'])
  await installChart(kube, node)
  const ns = await tenantNamespace(kube, 'bench', 'arn:aws:iam::123456789012:role/bench-.*')

  // Plain and injected pods of the same app, one at a time, create → Ready.
  const plain: number[] = []
  const injected: number[] = []
  const sidecarReady: number[] = []
  for (let i = 0; i < PODS; i++) {
    plain.push((await timePod(kube, ns, `plain-${i}`, false)).readyMs)
    const r = await timePod(kube, ns, `inj-${i}`, true)
    injected.push(r.readyMs)
    if (r.sidecarReadyMs !== undefined) sidecarReady.push(r.sidecarReadyMs)
    console.log(
      `# pod ${i}: plain ${plain.at(-1)} ms, injected ${r.readyMs} ms, sidecar ready ${r.sidecarReadyMs} ms`,
    )
  }
  // Idle: let every sidecar settle after its first fetch, then read the kubelet's figures.
  await new Promise((r) => setTimeout(r, 20_000))
  const idle = await sidecarWorkingSets(kube, ns)
  console.log(`# idle working sets (MiB): ${idle.map(round1).join(' ')}`)

  // 100k requests to one pod's sidecar, from inside that pod's network namespace.
  const target = (await podsOf(kube, ns, 'app=inj-0'))[0]!
  const served = loadSidecar(node.workDir, target, REQUESTS)
  await new Promise((r) => setTimeout(r, 12_000)) // the kubelet's stats refresh
  const after = (await sidecarWorkingSets(kube, ns, target.metadata.name))[0]!

  const out = {
    sidecar_working_set_mib_idle: round1(median(idle)),
    sidecar_working_set_mib_idle_max: round1(Math.max(...idle)),
    sidecar_working_set_mib_after_100k: round1(after),
    requests_served: served,
    sidecar_ready_ms: Math.round(median(sidecarReady)),
    pod_ready_ms_injected: Math.round(median(injected)),
    pod_ready_ms_plain: Math.round(median(plain)),
    pod_ready_ms_added_by_injection: Math.round(median(injected) - median(plain)),
    pods_injected: idle.length,
    cgroup: node.cgroupV2 ? 'v2' : 'v1',
    node_version: process.version,
    machine: machine(),
  }
  writeResults('node.json', out)
} finally {
  await node.stop()
}

async function timePod(
  kube: Kube,
  ns: string,
  name: string,
  inject: boolean,
): Promise<{ readyMs: number; sidecarReadyMs?: number }> {
  // No init container of the app's own: the same pod with and without the sidecar.
  const dep = appDeployment(node, ns, { name, role: `bench-${name}`, inject, initContainer: false })
  const t0 = performance.now()
  await kube.apply([dep])
  let sidecarRunningAt: number | undefined
  let sidecarStartedAt: number | undefined
  const readyAt = await until(
    `${name} Ready`,
    async () => {
      const p = (await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${name}` }))
        .items[0] as unknown as Pod | undefined
      if (!p) return undefined
      const now = performance.now()
      const s = p.status.initContainerStatuses?.find((c) => c.name === L.containerName)
      if (s?.state?.running && sidecarRunningAt === undefined) sidecarRunningAt = now
      if (s?.started && sidecarStartedAt === undefined) sidecarStartedAt = now
      return p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        ? now
        : undefined
    },
    180_000,
    { intervalMs: 50 },
  )
  return {
    readyMs: Math.round(readyAt - t0),
    sidecarReadyMs:
      sidecarRunningAt !== undefined && sidecarStartedAt !== undefined
        ? Math.round(sidecarStartedAt - sidecarRunningAt)
        : undefined,
  }
}

/** The sidecar containers' working sets (MiB) from the kubelet's summary API. */
async function sidecarWorkingSets(kube: Kube, ns: string, podName?: string): Promise<number[]> {
  const summary = JSON.parse(
    await kube.kubectl(['get', '--raw', `/api/v1/nodes/${node.nodeName}/proxy/stats/summary`]),
  ) as {
    pods: {
      podRef: { name: string; namespace: string }
      containers: { name: string; memory?: { workingSetBytes?: number } }[]
    }[]
  }
  return summary.pods
    .filter((p) => p.podRef.namespace === ns && (!podName || p.podRef.name === podName))
    .flatMap((p) => p.containers.filter((c) => c.name === L.containerName))
    .map((c) => (c.memory?.workingSetBytes ?? 0) / 1048576)
    .filter((x) => x > 0)
}

/** Sends `n` requests (32 in flight, keep-alive) to the pod's sidecar from the pod's own netns. */
function loadSidecar(workDir: string, pod: Pod, n: number): number {
  const secret = sidecarVolumeFile({ workDir }, pod.metadata.uid, 'secret')
  const sidecar = pod.status.initContainerStatuses!.find((c) => c.name === L.containerName)!
  const id = sidecar.containerID!.replace('containerd://', '')
  const pid = containerPid(node, id)
  const script = `
const http = require('node:http')
const auth = require('node:fs').readFileSync(process.env.SECRET, 'utf8')
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })
let sent = 0, ok = 0, done = 0
const total = Number(process.env.N)
function one() {
  if (sent >= total) return
  sent++
  http.get({ host: '127.0.0.1', port: ${L.port}, path: '/v1/credentials', agent, headers: { authorization: auth } }, (res) => {
    res.resume(); res.on('end', () => { if (res.statusCode === 200) ok++; done++; done === total ? finish() : one() })
  }).on('error', () => { done++; done === total ? finish() : one() })
}
function finish() { process.stdout.write(String(ok)); agent.destroy() }
for (let i = 0; i < 32; i++) one()
`
  const out = execFileSync(
    'nsenter',
    [`--net=/proc/${pid}/ns/net`, process.execPath, '-e', script],
    {
      encoding: 'utf8',
      env: { ...process.env, SECRET: secret, N: String(n) },
      timeout: 600_000,
    },
  )
  return Number(out)
}
