// The injector through a real kube-apiserver: a MutatingWebhookConfiguration pointing at the
// injector on 127.0.0.1 (self-bootstrapped TLS), pods created in a namespace that enforces Pod
// Security `restricted`. Then the whole path: the admitted pod's sidecar container run as a
// local process with what the kubelet would give it, the real broker, and an SDK client with the
// app container's env from the stored spec.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync, spawn } from 'node:child_process'
import { CoreV1Api, type V1Container, type V1Pod } from '@kubernetes/client-node'
import { POD_LAYOUT as L, SIDECAR_BUNDLE_IN_IMAGE } from '../../lib/sidecar-runtime.ts'
import { useCluster } from '../peers/cluster.ts'
import { repoRoot } from '../peers/paths.ts'
import { sdkClients } from '../sdk-clients/clients.ts'
import { startRealBroker, type TestBrokerRuntime } from '../support/broker-fixture.ts'
import {
  startTestInjector,
  waitForWebhook,
  type TestInjector,
} from '../support/injector-fixture.ts'
import { createServiceAccount } from '../support/pods.ts'
import { runClient } from '../support/run-client.ts'
import { SIDECAR_BUNDLE } from '../support/sidecar-process.ts'

const cluster = await useCluster()
const core = cluster.kc.makeApiClient(CoreV1Api)
const ACCOUNT = '123456789012'
let broker: TestBrokerRuntime
let injector: TestInjector
let ns: string

/** An app container that passes Pod Security `restricted` on its own. */
const app = (name: string, extra: Partial<V1Container> = {}): V1Container => ({
  name,
  image: 'registry.k8s.io/pause:3.10',
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 1000,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
  ...extra,
})
const pod = (
  name: string,
  annotations: Record<string, string>,
  extra: Partial<V1Pod['spec']> = {},
): V1Pod => ({
  metadata: { name, annotations },
  spec: { serviceAccountName: 'app', nodeName: 'node-a', containers: [app('main')], ...extra },
})

before(async () => {
  broker = await startRealBroker(cluster)
  injector = await startTestInjector(cluster, [
    `--broker-url=${broker.url}`,
    `--base-role-arn=arn:aws:iam::${ACCOUNT}:role/`,
  ])
  ns = await cluster.freshNamespace(
    'inject',
    { ...injector.selector, 'pod-security.kubernetes.io/enforce': 'restricted' },
    {
      'iam-sidecar/permitted': `arn:aws:iam::${ACCOUNT}:role/(web|reader)`,
    },
  )
  await createServiceAccount(cluster, ns)
  await waitForWebhook(cluster, ns, () =>
    pod(`probe-${Date.now()}`, { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'web' }),
  )
})
after(async () => {
  await injector?.close()
  await broker?.close()
})

describe('injector behind a real API server', () => {
  it('injects an annotated pod that then passes Pod Security restricted', async () => {
    const stored = await core.createNamespacedPod({
      namespace: ns,
      body: pod(
        'web',
        { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'web' },
        { initContainers: [app('migrate')], containers: [app('main'), app('helper')] },
      ),
    })
    const init = stored.spec!.initContainers!
    assert.deepEqual(
      init.map((c) => c.name),
      [L.containerName, 'migrate'],
      'sidecar first, before the other init containers',
    )
    assert.equal(init[0]!.restartPolicy, 'Always')
    assert.equal(init[0]!.startupProbe?.httpGet?.path, '/readyz')
    assert.equal(stored.metadata!.labels!['iam-sidecar/injected'], 'true')
    for (const c of [init[1]!, ...stored.spec!.containers]) {
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]))
      assert.equal(
        env.AWS_CONTAINER_CREDENTIALS_FULL_URI,
        `http://127.0.0.1:${L.port}/v1/credentials`,
        c.name,
      )
      assert.equal(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, L.secretFile, c.name)
      assert.ok(
        c.volumeMounts?.some((m) => m.name === L.secretVolume && m.readOnly),
        `${c.name} mounts the secret read-only`,
      )
      assert.ok(
        !c.volumeMounts?.some((m) => m.name === L.tokenVolume),
        `${c.name} never sees the ServiceAccount token`,
      )
    }
    const token = stored.spec!.volumes!.find((v) => v.name === L.tokenVolume)
    assert.equal(token?.projected?.sources?.[0]?.serviceAccountToken?.audience, 'iam-sidecar')
  })

  it('leaves pods without the annotation untouched', async () => {
    const stored = await core.createNamespacedPod({ namespace: ns, body: pod('plain', {}) })
    assert.equal(stored.spec!.initContainers, undefined)
    assert.equal(stored.metadata!.labels?.['iam-sidecar/injected'], undefined)
    assert.deepEqual(
      stored.spec!.containers.map((c) => c.env),
      [undefined],
    )
  })

  it('rejects a pod whose role the namespace does not permit, with the reason', async () => {
    await assert.rejects(
      core.createNamespacedPod({
        namespace: ns,
        body: pod('admin', { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'admin' }),
      }),
      (e: { code?: number; body?: string }) =>
        e.code === 403 &&
        /iam-sidecar: role arn:aws:iam::123456789012:role\/admin is not permitted in namespace/.test(
          String(e.body),
        ),
    )
  })

  it('rejects hostNetwork pods, saying what to do', async () => {
    const base = cluster.kc.makeApiClient(CoreV1Api)
    const open = await cluster.freshNamespace('inject-hostnet', injector.selector, {
      'iam-sidecar/permitted': '.*',
    })
    await createServiceAccount(cluster, open)
    await assert.rejects(
      base.createNamespacedPod({
        namespace: open,
        body: pod(
          'hn',
          { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'web' },
          { hostNetwork: true },
        ),
      }),
      (e: { code?: number; body?: string }) =>
        e.code === 403 && /hostNetwork: true is not supported/.test(String(e.body)),
    )
  })

  it('`iam-sidecar explain --live` explains an admitted pod and a refused role', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: pod('explained', { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'web' }),
    })
    const out = execFileSync(
      process.execPath,
      [
        join(repoRoot, 'bin', 'iam-sidecar.ts'),
        'explain',
        '--live',
        `--kubeconfig=${join(cluster.info.workDir, 'kubeconfig-admin.yaml')}`,
        `--namespace-name=${ns}`,
        '--pod-name=explained',
        `--base-role-arn=arn:aws:iam::${ACCOUNT}:role/`,
      ],
      { encoding: 'utf8' },
    )
    assert.match(out, new RegExp(`^pod ${ns}/explained\n  injection: done`))
    assert.match(
      out,
      /role: arn:aws:iam::123456789012:role\/web \(from pod annotation iam-sidecar\/role\)/,
    )
    assert.match(out, /verdict: permitted/)
  })

  it('the whole path: the admitted pod gets its role in an AWS SDK, through its own sidecar and the broker', async () => {
    const stored = await core.createNamespacedPod({
      namespace: ns,
      body: pod('reader', { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'reader' }),
    })
    const kubelet = mkdtempSync(join(tmpdir(), 'iam-sidecar-kubelet-'))
    try {
      const run = await runPodLocally(stored, kubelet)
      assert.equal(run.code, 0, run.stderr)
      assert.match(
        run.stdout.trim(),
        new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/reader/${ns}\\.reader-[0-9a-f]{8}$`),
      )
    } finally {
      rmSync(kubelet, { recursive: true, force: true })
    }
  })
})

/**
 * Plays the kubelet for one pod: volumes as folders (the projected token from a TokenRequest
 * bound to the pod, the broker CA from the cluster CA, an empty folder for the emptyDir), the
 * sidecar container's command and args from the stored spec with image paths mapped to this
 * checkout, then the app container's env from the spec for an SDK client.
 */
async function runPodLocally(
  stored: V1Pod,
  root: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const sidecar = stored.spec!.initContainers!.find((c) => c.name === L.containerName)!
  const audience = stored.spec!.volumes!.find((v) => v.name === L.tokenVolume)!.projected!
    .sources![0]!.serviceAccountToken!
  const map = (p: string): string =>
    p.replace(SIDECAR_BUNDLE_IN_IMAGE, SIDECAR_BUNDLE).replace(/\/var\/run\//g, `${root}/var/run/`)
  mkdirSync(map(L.tokenDir), { recursive: true })
  mkdirSync(map(L.brokerCaDir), { recursive: true })
  const tr = await core.createNamespacedServiceAccountToken({
    name: stored.spec!.serviceAccountName!,
    namespace: ns,
    body: {
      spec: {
        audiences: [audience.audience!],
        expirationSeconds: audience.expirationSeconds!,
        boundObjectRef: {
          apiVersion: 'v1',
          kind: 'Pod',
          name: stored.metadata!.name!,
          uid: stored.metadata!.uid!,
        },
      },
    },
  })
  writeFileSync(map(L.tokenFile), tr.status?.token ?? '')
  copyFileSync(broker.caFile, map(L.brokerCaFile))
  const [cmd, ...cmdArgs] = sidecar.command!
  assert.equal(cmd, 'node')
  const child = spawn(process.execPath, [...cmdArgs, ...sidecar.args!].map(map), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '' },
  })
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  try {
    // The kubelet's startup probe: /readyz on the health port.
    const probe = sidecar.startupProbe!.httpGet!
    const deadline = Date.now() + 15_000
    while (
      !(await fetch(`http://127.0.0.1:${String(probe.port)}${probe.path}`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`sidecar never ready (exit ${child.exitCode}):\n${out}`)
      await new Promise((r) => setTimeout(r, 50))
    }
    const env = Object.fromEntries(stored.spec!.containers[0]!.env!.map((e) => [e.name, e.value!]))
    const js = sdkClients.find((c) => c.id === 'js-v3')!
    return await runClient(js, {
      credentialsUrl: env.AWS_CONTAINER_CREDENTIALS_FULL_URI!,
      tokenFile: map(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE!),
      stsEndpoint: cluster.info.stsEndpoint,
    })
  } finally {
    child.kill('SIGTERM')
  }
}
