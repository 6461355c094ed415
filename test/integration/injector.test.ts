// The injector through a real kube-apiserver: a MutatingWebhookConfiguration pointing at the
// injector on 127.0.0.1 (self-bootstrapped TLS), pods created in a namespace that enforces Pod
// Security `restricted`. Then the whole path: the admitted pod's sidecar container run as a
// local process with what the kubelet would give it, the real broker, and an SDK client with the
// app container's env from the stored spec.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { CoreV1Api, type V1Container, type V1Pod } from '@kubernetes/client-node'
import { POD_LAYOUT as L } from '../../lib/sidecar-pod-layout.ts'
import { useCluster } from '../peers/cluster.ts'
import { repoRoot } from '../peers/paths.ts'
import { startRealBroker, type TestBrokerRuntime } from '../support/broker-fixture.ts'
import {
  startTestInjector,
  waitForWebhook,
  type TestInjector,
} from '../support/injector-fixture.ts'
import { createServiceAccount } from '../support/pods.ts'
import { runPodLocally } from '../support/run-pod.ts'

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

  it('checks a pod that arrives with the iam-sidecar/injected label like any other', async () => {
    const open = await cluster.freshNamespace('inject-forged', injector.selector, {
      'iam-sidecar/permitted': '.*',
    })
    await createServiceAccount(cluster, open)
    const asks = { 'iam-sidecar/inject': 'true', 'iam-sidecar/role': 'web' }
    const labelled = (name: string, extra: Partial<V1Pod['spec']>): V1Pod => {
      const p = pod(name, asks, extra)
      return { ...p, metadata: { ...p.metadata, labels: { 'iam-sidecar/injected': 'true' } } }
    }
    const refused = (e: { code?: number; body?: string }, re: RegExp): boolean =>
      e.code === 403 && re.test(String(e.body))
    await assert.rejects(
      core.createNamespacedPod({
        namespace: open,
        body: labelled('forged-hn', { hostNetwork: true }),
      }),
      (e: { code?: number; body?: string }) => refused(e, /hostNetwork: true is not supported/),
    )
    // A container of our name written by hand does not make the pod "already injected" either.
    const ours = { name: L.containerName, image: 'example.com/not-ours:1', restartPolicy: 'Always' }
    await assert.rejects(
      core.createNamespacedPod({
        namespace: open,
        body: labelled('forged-pid', { shareProcessNamespace: true, initContainers: [ours] }),
      }),
      (e: { code?: number; body?: string }) => refused(e, /shareProcessNamespace: true/),
    )
    // The label alone, on a pod that is fine: it is injected (it would otherwise start bare).
    const stored = await core.createNamespacedPod({
      namespace: open,
      body: labelled('labelled', {}),
    })
    assert.ok(
      stored.spec!.initContainers?.some((c) => c.name === L.containerName),
      'the labelled pod got the sidecar',
    )
  })

  it('exposes Prometheus metrics on its own port', async () => {
    const text = await (await fetch(`http://127.0.0.1:${injector.metricsPort}/metrics`)).text()
    for (const name of [
      'iam_sidecar_injector_reviews_total{outcome="inject"}',
      'iam_sidecar_injector_reviews_total{outcome="deny"}',
      'iam_sidecar_injector_review_duration_seconds_bucket',
    ]) {
      assert.ok(text.includes(name), name)
    }
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
      const run = await runPodLocally(stored, {
        root: kubelet,
        cluster,
        brokerCaFile: broker.caFile,
      })
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
