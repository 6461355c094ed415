// `npm run demo`: the main job on embedded defaults, all local and real. A control plane
// (etcd + kube-apiserver) and the STS emulator (moto), the broker and the injector as local
// processes-in-this-process with generated TLS; a namespace with a policy; an annotated pod is
// admitted, its sidecar runs, and an app with the pod's env prints the role ARN it now holds;
// then a pod asking for a role its namespace does not permit is refused. Everything is cleaned
// up, also on Ctrl-C.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node'
import { buildSidecar } from './build-sidecar.ts'
import { startControlPlane, type ControlPlane } from '../test/peers/control-plane.ts'
import { makeTestCluster } from '../test/peers/cluster.ts'
import { startRealBroker } from '../test/support/broker-fixture.ts'
import { startTestInjector, waitForWebhook } from '../test/support/injector-fixture.ts'
import { createServiceAccount } from '../test/support/pods.ts'
import { runPodLocally } from '../test/support/run-pod.ts'

const root = resolve(import.meta.dirname, '..')
const ACCOUNT = '123456789012' // the account moto gives every role
const t0 = performance.now()
const cleanups: (() => Promise<unknown>)[] = []
let stepStart = performance.now()

function step(n: number, text: string): void {
  stepStart = performance.now()
  process.stdout.write(`\n[${n}] ${text}\n`)
}
function done(detail = ''): void {
  process.stdout.write(
    `    ok (${((performance.now() - stepStart) / 1000).toFixed(1)} s)${detail ? ` ${detail}` : ''}\n`,
  )
}
const say = (text: string): void => void process.stdout.write(`    ${text}\n`)

const restricted = {
  runAsNonRoot: true,
  runAsUser: 1000,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
}
const appPod = (name: string, role: string): V1Pod => ({
  metadata: { name, annotations: { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': role } },
  spec: {
    serviceAccountName: 'app',
    nodeName: 'demo-node',
    containers: [{ name: 'app', image: 'example.com/app:1', securityContext: restricted }],
  },
})

async function main(): Promise<void> {
  process.stdout.write(
    'iam-sidecar demo: per-pod AWS roles through an injected sidecar and a broker, on real local parts.\n',
  )
  step(
    1,
    'Test peers (etcd, kube-apiserver, moto) from the per-user cache; built on first use, which takes minutes',
  )
  execFileSync('bash', [join(root, 'scripts/peers/install.sh'), 'moto', 'etcd', 'kubernetes'], {
    stdio: 'inherit',
  })
  await buildSidecar()
  done()

  step(
    2,
    'Starting etcd, kube-apiserver (RBAC, Pod Security admission) and the STS emulator on loopback',
  )
  const plane: ControlPlane = await startControlPlane({ controllerManager: false })
  cleanups.push(() => plane.stop())
  const { cluster } = makeTestCluster(plane)
  done(`apiserver ${plane.apiserverUrl}, STS ${plane.stsEndpoint}`)

  step(
    3,
    'Starting the broker (TLS from a generated CA) and the injector (self-bootstrapped TLS, its webhook registered)',
  )
  const broker = await startRealBroker(cluster, ['--log-level=error'])
  cleanups.push(() => broker.close())
  const injector = await startTestInjector(cluster, [
    `--broker-url=${broker.url}`,
    `--base-role-arn=arn:aws:iam::${ACCOUNT}:role/`,
    '--log-level=error',
  ])
  cleanups.push(() => injector.close())
  done(`broker ${broker.url}, injector https://127.0.0.1:${injector.port}/mutate`)

  step(
    4,
    'Creating namespace "demo-*" (Pod Security restricted) with policy iam-sidecar/permitted = arn:aws:iam::123456789012:role/demo-.*',
  )
  const ns = await cluster.freshNamespace(
    'demo',
    { ...injector.selector, 'pod-security.kubernetes.io/enforce': 'restricted' },
    {
      'iam-sidecar/permitted': `arn:aws:iam::${ACCOUNT}:role/demo-.*`,
    },
  )
  await createServiceAccount(cluster, ns)
  await waitForWebhook(cluster, ns, () => appPod(`probe-${Date.now()}`, 'demo-reader'))
  done(`namespace ${ns}`)

  step(
    5,
    'Creating pod "reader" annotated iam-sidecar/inject: "true", iam-sidecar/role: demo-reader',
  )
  const core = cluster.kc.makeApiClient(CoreV1Api)
  const stored = await core.createNamespacedPod({
    namespace: ns,
    body: appPod('reader', 'demo-reader'),
  })
  const sidecar = stored.spec!.initContainers![0]!
  say(
    `label added:            iam-sidecar/injected=${stored.metadata!.labels!['iam-sidecar/injected']}`,
  )
  say(
    `init container added:   ${sidecar.name} (restartPolicy ${sidecar.restartPolicy}, startup probe ${sidecar.startupProbe?.httpGet?.path})`,
  )
  say(
    `volumes added:          ${stored
      .spec!.volumes!.map((v) => v.name)
      .filter((n) => n.startsWith('iam-sidecar'))
      .join(', ')}`,
  )
  for (const e of stored.spec!.containers[0]!.env ?? [])
    say(`env in container app:   ${e.name}=${e.value}`)
  done()

  step(
    6,
    "Running the pod's sidecar as the kubelet would, and an app (AWS SDK for JavaScript v3) with the pod's env",
  )
  const kubelet = mkdtempSync(join(tmpdir(), 'iam-sidecar-demo-'))
  cleanups.push(async () => rmSync(kubelet, { recursive: true, force: true }))
  const run = await runPodLocally(stored, { root: kubelet, cluster, brokerCaFile: broker.caFile })
  if (run.code !== 0) throw new Error(`the app failed: ${run.stderr}`)
  say(`the app calls sts:GetCallerIdentity and is: ${run.stdout.trim()}`)
  done()

  step(7, 'Creating pod "intruder" asking for role admin, which the namespace does not permit')
  try {
    await core.createNamespacedPod({ namespace: ns, body: appPod('intruder', 'admin') })
    throw new Error('the pod was admitted')
  } catch (err) {
    const body = JSON.parse(String((err as { body?: string }).body ?? '{}')) as { message?: string }
    if (!body.message) throw err
    say(`refused by the API server: ${body.message}`)
  }
  done()
}

async function cleanup(): Promise<void> {
  for (const c of cleanups.reverse()) await c().catch(() => {})
  cleanups.length = 0
}

process.once('SIGINT', () => {
  process.stdout.write('\ninterrupted: cleaning up\n')
  void cleanup().finally(() => process.exit(130))
})

try {
  await main()
  await cleanup()
  process.stdout.write(
    `\ndemo finished in ${((performance.now() - t0) / 1000).toFixed(1)} s; everything stopped and removed.\n`,
  )
} catch (err) {
  await cleanup()
  process.stderr.write(`\ndemo failed: ${(err as Error).message}\n`)
  process.exitCode = 1
}
