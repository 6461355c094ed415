// End to end on a real node: `helm install ./chart` with image overrides only (plus the STS
// emulator's endpoint and its fake broker keys), in a namespace where Pod Security `restricted`
// is enforced; the injector and the broker run as pods on the kubelet; tenants' pods in a
// namespace created after the install get their roles through the injected native sidecar.
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { POD_LAYOUT as L } from '../../lib/sidecar-pod-layout.ts'
import { containerPid, loadImages, nodeCtr, sidecarVolumeFile } from './node-cluster.ts'
import { getInNetns } from './in-netns.ts'
import { kubeFor, until } from './kubectl.ts'
import { readyBrokerEndpoints, rolloutUnderLoad } from './rollout.ts'
import { useNode } from './use-node.ts'
import {
  appDeployment,
  appPod,
  installChart,
  podsOf,
  RELEASE_NS,
  SDK_GO,
  SDK_JS,
  RESTRICTED_CONTAINER,
  brokerCaPem,
  stsEnv,
  tenantNamespace,
  type Pod,
} from './tenant.ts'

const node = await useNode()
const kube = kubeFor(node)
const ACCOUNT = '123456789012'
const arnOf = (role: string): RegExp =>
  new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/${role}/[\\w+=,.@-]+$`, 'm')

describe('the chart on a real node', { timeout: 900_000 }, () => {
  let tenant = ''

  before(async () => {
    await loadImages(node, ['iam-sidecar', 'sdk-js-v3', 'sdk-go-v2'])
    await installChart(kube, node)
    tenant = await tenantNamespace(kube, 'tenant', `arn:aws:iam::${ACCOUNT}:role/app-.*`)
  })

  it('runs the injector and the broker as pods under Pod Security restricted, with self-bootstrapped webhook TLS', async () => {
    const ns = await kube.json<{ metadata: { labels: Record<string, string> } }>([
      'get',
      'ns',
      RELEASE_NS,
    ])
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted')
    for (const component of ['injector', 'broker']) {
      const pods = await podsOf(kube, RELEASE_NS, `app.kubernetes.io/component=${component}`)
      assert.ok(pods.length >= 1, component)
      for (const p of pods) {
        assert.equal(p.spec.nodeName, node.nodeName)
        assert.ok(
          p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          p.metadata.name,
        )
      }
    }
    const mwc = await kube.json<{ webhooks: { clientConfig: { caBundle?: string } }[] }>([
      'get',
      'mutatingwebhookconfiguration',
      'iam-sidecar',
    ])
    assert.ok(mwc.webhooks[0]!.clientConfig.caBundle, 'the injector wrote its CA into the caBundle')
    const ctb = await kube.json<{ spec: { trustBundle: string } }>([
      'get',
      'clustertrustbundle',
      'iam-sidecar-broker-ca',
    ])
    assert.equal(ctb.spec.trustBundle.trim(), (await brokerCaPem(kube)).trim())
  })

  it('gives a Deployment in a namespace created after the install its role, with the sidecar ready before an init container calls STS', async () => {
    await kube.apply([appDeployment(node, tenant, { name: 'reader', role: 'app-reader' })])
    const pod = await until(
      'reader pod Ready',
      async () => (await podsOf(kube, tenant, 'app=reader')).find(isReady),
      180_000,
      { describe: () => kube.kubectl(['describe', 'pods', '-n', tenant, '-l', 'app=reader']) },
    )
    // The user's own init container (Go SDK v2) ran after the native sidecar was ready.
    const initLog = await kube.kubectl(['logs', '-n', tenant, pod.metadata.name, '-c', 'sts-init'])
    assert.match(initLog, arnOf('app-reader'))
    const names = pod.spec.initContainers!.map((c) => c.name)
    assert.deepEqual(names, [L.containerName, 'sts-init'])
    const appLog = await until('an ARN in the app log', async () => {
      const log = await kube.kubectl(['logs', '-n', tenant, pod.metadata.name, '-c', 'app'])
      return arnOf('app-reader').test(log) ? log : undefined
    })
    assert.doesNotMatch(appLog, /failed/i)
    // The sidecar's per-pod secret and projected token as the kubelet laid them out.
    const secret = sidecarVolumeFile(node, pod.metadata.uid, 'secret')
    assert.equal(statSync(secret).mode & 0o777, 0o444, 'the secret is readable by the app user')
    assert.equal(statSync(secret).uid, 65532, 'written by the sidecar user')
    assert.ok(existsSync(sidecarVolumeFile(node, pod.metadata.uid, 'token')))
  })

  it('serves pods as teams write them: two app containers, other users and fsGroup; leaves pods that did not ask alone', async () => {
    const dep = appDeployment(node, tenant, { name: 'shapes', role: 'app-shapes' })
    const spec = dep.spec.template.spec as Record<string, unknown> & { containers: object[] }
    spec.securityContext = { runAsUser: 2000, runAsGroup: 3000, fsGroup: 4000 }
    spec.containers.push({
      name: 'go',
      image: SDK_GO,
      imagePullPolicy: 'IfNotPresent',
      env: stsEnv(node),
      securityContext: { ...RESTRICTED_CONTAINER, runAsUser: 3000 },
    })
    // The Go client runs once and exits: keep the pod alive with restartPolicy Always (a Job-like
    // container restarting is fine here; what matters is that each run gets the role).
    const plain = appDeployment(node, tenant, { name: 'plain', role: 'unused', inject: false })
    await kube.apply([dep, plain])
    const pod = await until(
      'shapes: both app containers got the role',
      async () => {
        const p = (await podsOf(kube, tenant, 'app=shapes'))[0]
        if (!p) return undefined
        const js = await kube
          .kubectl(['logs', '-n', tenant, p.metadata.name, '-c', 'app'])
          .catch(() => '')
        const go = await kube
          .kubectl(['logs', '-n', tenant, p.metadata.name, '-c', 'go'])
          .catch(() => '')
        return arnOf('app-shapes').test(js) && arnOf('app-shapes').test(go) ? p : undefined
      },
      180_000,
      { describe: () => kube.kubectl(['describe', 'pods', '-n', tenant, '-l', 'app=shapes']) },
    )
    assert.ok(pod)
    const p = await until('plain pod Ready', async () =>
      (await podsOf(kube, tenant, 'app=plain')).find(isReady),
    )
    assert.deepEqual(p.spec.initContainers ?? [], [], 'no sidecar in a pod that did not ask')
    const env = JSON.stringify(p.spec.containers)
    assert.ok(!env.includes('AWS_CONTAINER_CREDENTIALS_FULL_URI'))
  })

  it("takes a pod's sidecar settings from its annotations: ports moved off the app's, UID left to the image, the injector's region", async () => {
    const dep = appDeployment(node, tenant, {
      name: 'tuned',
      role: 'app-tuned',
      initContainer: false,
    })
    const tpl = dep.spec.template as {
      metadata: { annotations: Record<string, string> }
      spec: { containers: { env: { name: string }[]; ports?: object[] }[] }
    }
    Object.assign(tpl.metadata.annotations, {
      'iam-sidecar/port': '9921',
      'iam-sidecar/health-port': '9922',
      'iam-sidecar/run-as-user': 'none',
      'iam-sidecar/log-level': 'debug',
    })
    const app = tpl.spec.containers[0]!
    // The app declares the sidecar's default ports, and sets no region: the chart's appRegion
    // (broker.region) must reach it, or the JavaScript SDK could not call STS at all.
    app.ports = [
      { name: 'http', containerPort: L.port },
      { name: 'admin', containerPort: L.healthPort },
    ]
    app.env = app.env.filter((e) => e.name !== 'AWS_REGION')
    await kube.apply([dep])
    const pod = await until(
      'tuned: an ARN in the app log',
      async () => {
        const p = (await podsOf(kube, tenant, 'app=tuned')).find(isReady)
        if (!p) return undefined
        const log = await kube.kubectl(['logs', '-n', tenant, p.metadata.name, '-c', 'app'])
        return arnOf('app-tuned').test(log) ? p : undefined
      },
      180_000,
      { describe: () => kube.kubectl(['describe', 'pods', '-n', tenant, '-l', 'app=tuned']) },
    )
    const sidecar = pod.spec.initContainers!.find((c) => c.name === L.containerName)!
    assert.equal(sidecar.securityContext?.runAsUser, undefined)
    assert.equal(sidecar.securityContext?.runAsNonRoot, true)
    // runAsNonRoot held with the image's numeric USER: the sidecar wrote the secret as 65532.
    assert.equal(statSync(sidecarVolumeFile(node, pod.metadata.uid, 'secret')).uid, 65532)
    const env = Object.fromEntries(pod.spec.containers[0]!.env!.map((e) => [e.name, e.value]))
    assert.equal(env.AWS_CONTAINER_CREDENTIALS_FULL_URI, 'http://127.0.0.1:9921/v1/credentials')
    assert.equal(env.AWS_REGION, 'us-east-1')
    assert.equal(env.AWS_DEFAULT_REGION, 'us-east-1')
    // The sidecar started with the pod's log level (it logs at debug only on refusals).
    assert.ok(sidecar.args?.includes('--log-level=debug'), JSON.stringify(sidecar.args))

    // The same pod without the port annotations is refused, naming the annotation to set.
    const cpod = appPod(node, tenant, { name: 'clash', role: 'app-clash', initContainer: false })
    ;(cpod.spec.containers[0] as { ports?: object[] }).ports = [{ containerPort: L.port }]
    await assert.rejects(
      kube.apply([cpod]),
      /declares port 9911, which the iam-sidecar credentials endpoint uses; set the pod annotation iam-sidecar\/port/,
    )
  })

  it('completes a Job whose pod is injected (the native sidecar does not hold it)', async () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'batch', namespace: tenant },
      spec: {
        backoffLimit: 0,
        template: appDeployment(node, tenant, { name: 'batch', role: 'app-batch', image: SDK_GO })
          .spec.template,
      },
    }
    job.spec.template.spec.restartPolicy = 'Never'
    job.spec.template.spec.initContainers = []
    await kube.apply([job])
    await until(
      'Job complete',
      async () => {
        const j = await kube.json<{ status: { succeeded?: number; failed?: number } }>([
          'get',
          'job',
          '-n',
          tenant,
          'batch',
        ])
        if (j.status.failed) throw new Error('the Job failed')
        return j.status.succeeded === 1 ? true : undefined
      },
      180_000,
      { describe: () => kube.kubectl(['describe', 'pods', '-n', tenant, '-l', 'app=batch']) },
    )
    const log = await kube.kubectl(['logs', '-n', tenant, 'job/batch', '-c', 'app'])
    assert.match(log, arnOf('app-batch'))
  })

  it('restarts a killed sidecar, and the app keeps getting credentials', async () => {
    const pod = (await podsOf(kube, tenant, 'app=reader')).find(isReady)!
    const status = pod.status.initContainerStatuses!.find((s) => s.name === L.containerName)!
    const id = status.containerID!.replace('containerd://', '')
    // What an SDK that reads the token file once holds (botocore 1.32 to 1.34.40).
    const secretFile = sidecarVolumeFile(node, pod.metadata.uid, 'secret')
    const secretBefore = readFileSync(secretFile, 'utf8')
    nodeCtr(node.containerdSocket, ['tasks', 'kill', '-s', 'SIGKILL', id])
    const restarted = await until(
      'sidecar restarted and ready',
      async () => {
        const p = await kube.json<Pod>(['get', 'pod', '-n', tenant, pod.metadata.name])
        const s = p.status.initContainerStatuses!.find((c) => c.name === L.containerName)!
        return s.restartCount > status.restartCount && s.ready ? p : undefined
      },
      120_000,
    )
    assert.equal(
      restarted.status.containerStatuses![0]!.restartCount,
      0,
      'the app container kept running',
    )
    assert.ok(
      readFileSync(secretFile, 'utf8') === secretBefore,
      'the restarted sidecar kept the per-pod secret (the memory emptyDir outlives it)',
    )
    // A new SDK process in the app container (no shell in the image: kubectl exec runs node).
    const out = await kube.kubectl([
      'exec',
      '-n',
      tenant,
      pod.metadata.name,
      '-c',
      'app',
      '--',
      '/nodejs/bin/node',
      '--input-type=module',
      '-e',
      // One call (the container's env asks the app for a million).
      "process.env.IAM_SIDECAR_CLIENT_LOOP = '1'; await import('/app/client.mjs')",
    ])
    assert.match(out, arnOf('app-reader'))
  })

  // Istio's outbound rules (istio-iptables): every TCP connection that does not come from the
  // proxy's UID 1337 or go to loopback is redirected to the proxy on 15001. The test writes the
  // same rules into two running pods' network namespaces (nft, the kernel's own NAT), with no
  // proxy listening, as while a mesh's proxy has not started yet, then restarts their sidecars:
  // the one the injector ran as 1337 (its namespace asks Istio for injection) reaches the broker,
  // the other cannot. No Istio runs here; its rule is emulated, and named so.
  it("reaches the broker under a mesh's outbound redirect only as the mesh proxy's UID", async () => {
    const meshed = await tenantNamespace(kube, 'meshed', `arn:aws:iam::${ACCOUNT}:role/app-.*`, {
      'istio-injection': 'enabled',
    })
    await kube.apply([
      appDeployment(node, meshed, { name: 'meshed', role: 'app-meshed', initContainer: false }),
      appDeployment(node, tenant, { name: 'unmeshed', role: 'app-unmeshed', initContainer: false }),
    ])
    const ready = (ns: string, app: string) =>
      until(
        `${app} Ready`,
        async () => (await podsOf(kube, ns, `app=${app}`)).find(isReady),
        180_000,
        {
          describe: () => kube.kubectl(['describe', 'pods', '-n', ns, '-l', `app=${app}`]),
        },
      )
    const pods = {
      meshed: await ready(meshed, 'meshed'),
      unmeshed: await ready(tenant, 'unmeshed'),
    }
    const uid = (p: Pod) => p.spec.initContainers!.find((c) => c.name === L.containerName)!
    assert.equal(uid(pods.meshed).securityContext?.runAsUser, 1337)
    assert.equal(uid(pods.unmeshed).securityContext?.runAsUser, 65532)
    const sidecarId = (p: Pod) =>
      p.status
        .initContainerStatuses!.find((s) => s.name === L.containerName)!
        .containerID!.replace('containerd://', '')
    const before = new Map<string, number>()
    for (const [name, p] of Object.entries(pods)) {
      const pid = containerPid(node, sidecarId(p))
      execFileSync('nsenter', [`--target=${pid}`, '--net', 'nft', '-f', '-'], {
        input: `table ip mesh_emulation {
  chain output {
    type nat hook output priority -100; policy accept;
    oifname "lo" return
    meta skuid 1337 return
    ip protocol tcp redirect to :15001
  }
}
`,
      })
      before.set(
        name,
        p.status.initContainerStatuses!.find((s) => s.name === L.containerName)!.restartCount,
      )
      nodeCtr(node.containerdSocket, ['tasks', 'kill', '-s', 'SIGKILL', sidecarId(p)])
    }
    const sidecarStatus = async (ns: string, p: Pod) => {
      const now = await kube.json<Pod>(['get', 'pod', '-n', ns, p.metadata.name])
      return now.status.initContainerStatuses!.find((s) => s.name === L.containerName)!
    }
    await until(
      'the meshed sidecar restarted and ready',
      async () => {
        const s = await sidecarStatus(meshed, pods.meshed)
        return s.restartCount > before.get('meshed')! && s.ready ? s : undefined
      },
      120_000,
    )
    // Give the other one as long again: it restarted, but its broker call hits the redirect.
    await new Promise((r) => setTimeout(r, 15_000))
    const other = await sidecarStatus(tenant, pods.unmeshed)
    assert.ok(other.restartCount > before.get('unmeshed')!, 'the unmeshed sidecar restarted')
    assert.equal(
      other.ready,
      false,
      'the unmeshed sidecar cannot reach the broker under the redirect',
    )
    await kube.kubectl(['delete', 'deployment', '-n', tenant, 'unmeshed', '--wait=false'])
  })

  // The webhook ignores its own failures (failurePolicy Ignore, chosen by the chart because the
  // API server has ValidatingAdmissionPolicy) and the chart's sidecar guard policy refuses what
  // asked for injection but arrived without the sidecar.
  it('with the injector stopped, creates a pod that did not ask and refuses one that did, saying why', async () => {
    const mwc = await kube.json<{ webhooks: { failurePolicy: string }[] }>([
      'get',
      'mutatingwebhookconfiguration',
      'iam-sidecar',
    ])
    assert.equal(mwc.webhooks[0]!.failurePolicy, 'Ignore')
    const asPod = (name: string, inject: boolean) =>
      appPod(node, tenant, { name, role: `app-${name}`, inject, initContainer: false })
    const injector = ['deployment', '-n', RELEASE_NS, 'iam-sidecar-injector']
    await kube.kubectl(['scale', ...injector, '--replicas=0'])
    try {
      await until(
        'no injector pod left',
        async () =>
          (await podsOf(kube, RELEASE_NS, 'app.kubernetes.io/component=injector')).length === 0
            ? true
            : undefined,
        60_000,
      )
      await kube.apply([asPod('outage-plain', false)])
      await assert.rejects(
        kube.apply([asPod('outage-asks', true)]),
        /asks for iam-sidecar\/inject but arrived without the sidecar: the\s+injector is unavailable/,
      )
    } finally {
      await kube.kubectl(['scale', ...injector, '--replicas=2'])
      await kube.kubectl([
        'rollout',
        'status',
        '-n',
        RELEASE_NS,
        'deployment/iam-sidecar-injector',
        '--timeout=120s',
      ])
    }
    // Back: the same pod is admitted with its sidecar (the API server may need a moment to see
    // the new endpoints; until then the guard refuses it, as it should).
    await until(
      'the annotated pod admitted once the injector is back',
      async () => {
        try {
          await kube.apply([asPod('outage-asks', true)])
          return true
        } catch {
          return undefined
        }
      },
      60_000,
    )
    const admitted = await kube.json<Pod>(['get', 'pod', '-n', tenant, 'outage-asks'])
    assert.equal(admitted.spec.initContainers?.[0]?.name, L.containerName)
    await kube.kubectl([
      'delete',
      'pod',
      '-n',
      tenant,
      'outage-plain',
      'outage-asks',
      '--wait=false',
    ])
  })

  it('rolls the injector and the broker under a stream of admissions, credential fetches and SDK calls, and none fails', async (t) => {
    const runningApp = (await podsOf(kube, tenant, 'app=reader')).find(isReady)!
    const r = await rolloutUnderLoad(kube, node, {
      tenant,
      runningApp,
      role: (name) => `app-rollout-${name}`,
    })
    t.diagnostic(
      JSON.stringify({
        rolloutMs: r.rolloutMs,
        admissions: r.admissions,
        failedAdmissions: r.failedAdmissions.length,
        fetches: r.fetches,
        failedFetches: r.failedFetchCount,
        sdkErrors: r.sdkErrors.length,
      }),
    )
    assert.ok(r.admissions > 20, `${r.admissions} admissions during the rollout`)
    assert.ok(r.fetches > 100, `${r.fetches} credential fetches during the rollout`)
    assert.deepEqual(
      r.failedAdmissions,
      [],
      `${r.failedAdmissions.length} of ${r.admissions} admissions failed`,
    )
    assert.deepEqual(r.failedFetches, [], `of ${r.fetches} credential fetches`)
    assert.deepEqual(r.sdkErrors, [])
  })

  it("refuses a deleted pod's token at the broker", async () => {
    await kube.apply([appDeployment(node, tenant, { name: 'gone', role: 'app-gone' })])
    const pod = await until(
      'gone pod Ready',
      async () => (await podsOf(kube, tenant, 'app=gone')).find(isReady),
      180_000,
    )
    const tokenFile = sidecarVolumeFile(node, pod.metadata.uid, 'token')
    const token = readFileSync(tokenFile, 'utf8')
    const svc = await kube.json<{
      spec: { clusterIP: string; ports: { name: string; port: number }[] }
    }>(['get', 'svc', '-n', RELEASE_NS, 'iam-sidecar-broker'])
    const request = {
      url: `https://${svc.spec.clusterIP}:${svc.spec.ports.find((p) => p.name === 'https')!.port}/v1/credentials`,
      ca: await brokerCaPem(kube),
      servername: `iam-sidecar-broker.${RELEASE_NS}.svc`,
      bearer: token,
    }
    const live = await getInNetns(node.netns, request)
    assert.equal(live.status, 200, live.body)
    await kube.kubectl(['delete', 'deployment', '-n', tenant, 'gone', '--wait=true'])
    await until('pod gone', async () =>
      (await podsOf(kube, tenant, 'app=gone')).length === 0 ? true : undefined,
    )
    const after = await until(
      'the broker refuses the token',
      async () => {
        const r = await getInNetns(node.netns, request)
        return r.status === 200 ? undefined : r
      },
      90_000,
    )
    assert.equal(after.status, 401, after.body)
    assert.ok(!after.body.includes(token), 'the token is not echoed')
  })

  it('serves a pod from the broker on its node in node mode (DaemonSet, internalTrafficPolicy Local)', async () => {
    await installChart(kube, node, ['--set', 'broker.mode=node'])
    const ds = await until(
      'broker DaemonSet ready',
      async () => {
        const d = await kube.json<{
          status: { numberReady?: number; desiredNumberScheduled?: number }
        }>(['get', 'daemonset', '-n', RELEASE_NS, 'iam-sidecar-broker'])
        return d.status.numberReady === 1 && d.status.desiredNumberScheduled === 1 ? d : undefined
      },
      180_000,
    )
    assert.ok(ds)
    const svc = await kube.json<{ spec: { internalTrafficPolicy: string } }>([
      'get',
      'svc',
      '-n',
      RELEASE_NS,
      'iam-sidecar-broker',
    ])
    assert.equal(svc.spec.internalTrafficPolicy, 'Local')
    await kube.apply([
      appDeployment(node, tenant, { name: 'local', role: 'app-local', image: SDK_JS }),
    ])
    const pod = await until(
      'local pod Ready',
      async () => (await podsOf(kube, tenant, 'app=local')).find(isReady),
      180_000,
    )
    const log = await until('ARN from the node broker', async () => {
      const l = await kube.kubectl(['logs', '-n', tenant, pod.metadata.name, '-c', 'app'])
      return arnOf('app-local').test(l) ? l : undefined
    })
    assert.match(log, arnOf('app-local'))

    // An update of the DaemonSet surges: the new broker pod is ready on the node before the old
    // one goes, so the node is never without a broker (with maxUnavailable 1 it was).
    await kube.kubectl(['rollout', 'restart', 'daemonset', '-n', RELEASE_NS, 'iam-sidecar-broker'])
    let done = false
    const rollout = kube
      .kubectl([
        'rollout',
        'status',
        'daemonset',
        '-n',
        RELEASE_NS,
        'iam-sidecar-broker',
        '--timeout=180s',
      ])
      .finally(() => (done = true))
    let minReady = Number.POSITIVE_INFINITY
    let samples = 0
    while (!done) {
      minReady = Math.min(minReady, (await readyBrokerEndpoints(kube)).length)
      samples++
      await new Promise((r) => setTimeout(r, 200))
    }
    await rollout
    assert.ok(samples > 3, `only ${samples} samples during the rollout`)
    assert.ok(minReady >= 1, `the node had ${minReady} ready brokers during the update`)
  })
})

function isReady(p: Pod): boolean {
  return (
    !p.metadata.deletionTimestamp &&
    !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
  )
}
