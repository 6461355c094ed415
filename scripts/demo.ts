// `npm run demo`: the main job on embedded defaults, on a real node. It installs (first run) or
// reuses the peers, starts a one-node Kubernetes cluster in a network namespace of its own (etcd,
// kube-apiserver, controllers, scheduler, containerd + runc, a kubelet, kube-proxy, CoreDNS) and
// the STS emulator, builds the OCI images from this checkout, `helm install`s the chart, and then
// a tenant's annotated pod prints the role ARN its AWS SDK holds while a pod asking for a role its
// namespace does not permit is refused. Everything is removed at the end, also on Ctrl-C.
import { execFileSync } from 'node:child_process'
import { join, resolve } from 'node:path'
import { loadImages, startNodeCluster, type NodeCluster } from '../test/node/node-cluster.ts'
import { kubeFor, until } from '../test/node/kubectl.ts'
import {
  installChart,
  podsOf,
  RELEASE_NS,
  RESTRICTED_CONTAINER,
  SDK_JS,
  stsEnv,
  tenantNamespace,
  type Pod,
} from '../test/node/tenant.ts'

const root = resolve(import.meta.dirname, '..')
const ACCOUNT = '123456789012' // the account moto gives every role
const t0 = performance.now()
const cleanups: (() => Promise<unknown>)[] = []
let stepStart = performance.now()
const times: Record<string, number> = {}

function step(n: number, text: string): void {
  stepStart = performance.now()
  process.stdout.write(`\n[${n}] ${text}\n`)
}
function done(key: string, detail = ''): void {
  const s = (performance.now() - stepStart) / 1000
  times[key] = s
  process.stdout.write(`    ok (${s.toFixed(1)} s)${detail ? ` ${detail}` : ''}\n`)
}
const say = (text: string): void => void process.stdout.write(`    ${text}\n`)

const demoPod = (ns: string, name: string, role: string, node: NodeCluster): object => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: ns,
    annotations: { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': role },
  },
  spec: {
    serviceAccountName: 'app',
    restartPolicy: 'Never',
    containers: [
      {
        name: 'app',
        image: SDK_JS,
        imagePullPolicy: 'IfNotPresent',
        env: stsEnv(node),
        securityContext: RESTRICTED_CONTAINER,
      },
    ],
  },
})

async function main(): Promise<void> {
  process.stdout.write(
    'iam-sidecar demo: per-pod AWS roles through an injected sidecar and a broker, on a real kubelet.\n',
  )
  step(
    1,
    'Peers (etcd, Kubernetes, containerd, runc, CNI, CoreDNS, helm, moto) from the per-user cache; the first run builds them (15-30 min on 2 cores)',
  )
  execFileSync(
    'bash',
    [
      join(root, 'scripts/peers/install.sh'),
      'node-host',
      'moto',
      'etcd',
      'helm',
      'runc',
      'cni-plugins',
      'pause',
      'containerd',
      'coredns',
      'kubernetes',
    ],
    { stdio: 'inherit' },
  )
  done('peers')

  step(2, 'Starting a one-node cluster in its own network namespace, and the STS emulator')
  const node = await startNodeCluster()
  cleanups.push(() => node.stop())
  const kube = kubeFor(node)
  done('node', `node ${node.nodeName} Ready at ${node.nodeIp}, apiserver ${node.apiserverUrl}`)

  step(
    3,
    'Building the OCI images from this checkout (no container engine) and loading them into containerd',
  )
  const images = await loadImages(node, ['iam-sidecar', 'sdk-js-v3'])
  for (const i of images) say(`${i.reference}  ${(i.bytes / 1048576).toFixed(0)} MiB`)
  done('images')

  step(
    4,
    `helm install iam-sidecar ./chart -n ${RELEASE_NS} (Pod Security restricted): the injector and the broker as pods`,
  )
  await installChart(kube, node)
  for (const p of await podsOf(kube, RELEASE_NS, 'app.kubernetes.io/instance=iam-sidecar'))
    say(`${p.metadata.name.padEnd(40)} ${p.status.phase}`)
  done('install')

  step(
    5,
    `Creating namespace "demo" (after the install, Pod Security restricted) with iam-sidecar/permitted = arn:aws:iam::${ACCOUNT}:role/demo-.*`,
  )
  const ns = await tenantNamespace(kube, 'demo', `arn:aws:iam::${ACCOUNT}:role/demo-.*`)
  done('namespace')

  step(
    6,
    'Creating pod "reader" annotated iam-sidecar/inject: "true", iam-sidecar/role: demo-reader',
  )
  await kube.apply([demoPod(ns, 'reader', 'demo-reader', node)])
  const stored = await kube.json<
    Pod & {
      spec: {
        initContainers: { name: string; restartPolicy?: string }[]
        volumes: { name: string }[]
        containers: { env?: { name: string; value?: string }[] }[]
      }
    }
  >(['get', 'pod', '-n', ns, 'reader'])
  const sidecar = stored.spec.initContainers[0]!
  say(
    `init container added:   ${sidecar.name} (restartPolicy ${sidecar.restartPolicy}, startup probe /readyz)`,
  )
  say(
    `volumes added:          ${stored.spec.volumes
      .map((v) => v.name)
      .filter((n) => n.startsWith('iam-sidecar'))
      .join(', ')}`,
  )
  for (const e of stored.spec.containers[0]!.env ?? [])
    if (e.name.startsWith('AWS_CONTAINER')) say(`env in container app:   ${e.name}=${e.value}`)
  await until(
    'pod reader Succeeded',
    async () => {
      const p = await kube.json<Pod>(['get', 'pod', '-n', ns, 'reader'])
      if (p.status.phase === 'Failed')
        throw new Error(await kube.kubectl(['logs', '-n', ns, 'reader', '--all-containers']))
      return p.status.phase === 'Succeeded' ? p : undefined
    },
    180_000,
    { describe: () => kube.kubectl(['describe', 'pod', '-n', ns, 'reader']) },
  )
  const arn = (await kube.kubectl(['logs', '-n', ns, 'reader', '-c', 'app'])).trim()
  say(`the kubelet ran the sidecar first, then the app (AWS SDK for JavaScript v3), which is:`)
  say(`  ${arn}`)
  say('the app exited 0 and the kubelet stopped the sidecar: the pod Succeeded')
  done('pod')

  step(
    7,
    `Creating pod "intruder" asking for role arn:aws:iam::${ACCOUNT}:role/admin, which the namespace does not permit`,
  )
  try {
    await kube.apply([demoPod(ns, 'intruder', `arn:aws:iam::${ACCOUNT}:role/admin`, node)])
    throw new Error('the pod was admitted')
  } catch (err) {
    const m = /denied the request: (.*)/.exec((err as Error).message)
    if (!m) throw err
    say(`refused by the API server: ${m[1]!.trim()}`)
  }
  done('refused')
}

async function cleanup(): Promise<void> {
  const start = performance.now()
  for (const c of cleanups.reverse()) await c().catch(() => {})
  cleanups.length = 0
  times.cleanup = (performance.now() - start) / 1000
}

process.once('SIGINT', () => {
  process.stdout.write('\ninterrupted: cleaning up\n')
  void cleanup().finally(() => process.exit(130))
})

try {
  await main()
  await cleanup()
  const total = (performance.now() - t0) / 1000
  const peers = times.peers ?? 0
  process.stdout.write(
    `\ndemo finished in ${total.toFixed(1)} s (peers ${peers.toFixed(1)} s${peers > 60 ? ', cold: built' : ', warm: cached'}; node ${(times.node ?? 0).toFixed(1)} s; images ${(times.images ?? 0).toFixed(1)} s; helm install ${(times.install ?? 0).toFixed(1)} s; pod ${(times.pod ?? 0).toFixed(1)} s); everything stopped and removed.\n`,
  )
} catch (err) {
  await cleanup()
  process.stderr.write(`\ndemo failed: ${(err as Error).message}\n`)
  process.exitCode = 1
}
