// The Helm chart with the real helm and a real API server: lint, golden renders, no host access
// or privilege in any rendering, RBAC equal to the rules the programs declare, container flags
// the programs accept, a server-side dry run under Pod Security `restricted`, and a real
// install + upgrade that keeps the webhook's caBundle and the broker's generated CA.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes, X509Certificate } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseAllDocuments, parseDocument } from 'yaml'
import type { V1Container, V1PodSpec, V1PolicyRule } from '@kubernetes/client-node'
import { useCluster } from '../peers/cluster.ts'
import { BROKER_RULES } from '../../broker/rbac.ts'
import { loadBrokerConfig } from '../../broker/config.ts'
import { injectorNamespaceRules, injectorRules } from '../../injector/rbac.ts'
import { loadInjectorConfig } from '../../injector/config.ts'
import {
  CHART_DIR,
  CI_DIR,
  GOLDEN_DIR,
  GOLDEN_NAMESPACE,
  ciValuesFiles,
  helmTemplate,
  renderGolden,
} from '../../scripts/chart-golden.ts'

const run = promisify(execFile)
const cluster = await useCluster()
const HELM = cluster.bins.helm
const KUBECTL = cluster.bins.kubectl
const KUBECONFIG = join(cluster.info.workDir, 'kubeconfig-admin.yaml')
const UPDATE = process.env.UPDATE_GOLDEN === '1'
const tmp = mkdtempSync(join(tmpdir(), 'iam-sidecar-chart-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> }
  [key: string]: unknown
}
// Loosely typed views of rendered objects (the fields the assertions read).
interface Workload extends K8sObject {
  spec: { template: { metadata: { labels: Record<string, string> }; spec: V1PodSpec } }
}
interface Webhook {
  name: string
  sideEffects: string
  admissionReviewVersions: string[]
  failurePolicy: string
  reinvocationPolicy: string
  timeoutSeconds: number
  clientConfig: { service: { name: string; namespace: string; port: number }; caBundle?: string }
  rules: { operations: string[]; resources: string[]; apiGroups: string[] }[]
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] }
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>
  required?: string[]
}

/** Dotted paths of the documented values: the schema's leaves (objects with required keys are
 * walked into; free-form maps, selectors and resources are one value) present in values.yaml. */
function valuePaths(node: SchemaNode, values: Record<string, unknown>, prefix = ''): string[] {
  if (!node.properties || !node.required) return [prefix]
  return Object.entries(node.properties)
    .filter(([k]) => k in values)
    .flatMap(([k, child]) =>
      valuePaths(
        child,
        (values[k] ?? {}) as Record<string, unknown>,
        prefix ? `${prefix}.${k}` : k,
      ),
    )
}

function parseManifest(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null)
}

/** Every rendering the security walk covers: the defaults, each ci file, and mode switches. */
interface Rendering {
  name: string
  values: string[]
  extra: string[]
  /** tls.mode of this rendering (the webhook's TLS). */
  tls: string
}
const RENDERINGS: Rendering[] = [
  { name: 'defaults', values: [], extra: [], tls: 'selfBootstrap' },
  ...ciValuesFiles().map((f) => ({
    name: f,
    values: [join(CI_DIR, f)],
    extra: [],
    tls:
      (parseDocument(readFileSync(join(CI_DIR, f), 'utf8')).getIn(['tls', 'mode']) as string) ??
      'selfBootstrap',
  })),
  {
    name: 'defaults, node mode',
    values: [],
    extra: ['--set', 'broker.mode=node'],
    tls: 'selfBootstrap',
  },
  {
    name: 'defaults, tls secret, broker certManager',
    values: [],
    tls: 'secret',
    extra: [
      '--set',
      'tls.mode=secret,tls.secret.name=x,brokerTls.mode=certManager',
      '--set-string',
      'tls.secret.caBundle=-----BEGIN CERTIFICATE-----placeholder',
    ],
  },
]

const rendered = new Map<string, K8sObject[]>()
before(async () => {
  await Promise.all(
    RENDERINGS.map(async (r) => {
      rendered.set(r.name, parseManifest(await helmTemplate(HELM, r)))
    }),
  )
})

function objects(name: string): K8sObject[] {
  const objs = rendered.get(name)
  assert.ok(objs, `no rendering named ${name}`)
  return objs
}

function one<T extends K8sObject = K8sObject>(objs: K8sObject[], kind: string, name: string): T {
  const found = objs.filter((o) => o.kind === kind && o.metadata.name === name)
  assert.equal(found.length, 1, `exactly one ${kind} ${name}`)
  return found[0] as T
}

const POD_TEMPLATE_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet', 'ReplicaSet', 'Job']

function workloads(objs: K8sObject[]): Workload[] {
  return objs.filter((o): o is Workload => POD_TEMPLATE_KINDS.includes(o.kind))
}

function allContainers(spec: V1PodSpec): V1Container[] {
  return [...spec.containers, ...(spec.initContainers ?? [])]
}

/** Every way a pod could reach into its node or gain privilege, as a list of findings. */
function privilegeFindings(w: Workload): string[] {
  const spec = w.spec.template.spec
  const where = `${w.kind} ${w.metadata.name}`
  const out: string[] = []
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[field] === true) out.push(`${where}: ${field}`)
  }
  for (const v of spec.volumes ?? []) if (v.hostPath) out.push(`${where}: hostPath ${v.name}`)
  const pod = spec.securityContext
  if (pod?.runAsNonRoot !== true) out.push(`${where}: pod runAsNonRoot is not true`)
  if (pod?.seccompProfile?.type !== 'RuntimeDefault') out.push(`${where}: pod seccomp`)
  for (const c of allContainers(spec)) {
    const at = `${where}/${c.name}`
    const sc = c.securityContext
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${at}: hostPort ${p.hostPort}`)
    if (sc?.privileged === true) out.push(`${at}: privileged`)
    if (sc?.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation`)
    if ((sc?.capabilities?.add ?? []).length > 0) out.push(`${at}: capabilities.add`)
    if (!sc?.capabilities?.drop?.includes('ALL')) out.push(`${at}: capabilities not dropped`)
    if (sc?.readOnlyRootFilesystem !== true) out.push(`${at}: writable root filesystem`)
    if (sc?.runAsNonRoot !== true || sc.runAsUser !== 65532) out.push(`${at}: runAs`)
  }
  return out
}

function rulesOf(objs: K8sObject[], name: string): V1PolicyRule[] {
  return one<K8sObject & { rules: V1PolicyRule[] }>(objs, 'ClusterRole', name).rules
}

function containerOf(w: Workload, name: string): V1Container {
  const c = w.spec.template.spec.containers.find((x) => x.name === name)
  assert.ok(c, `${w.kind} ${w.metadata.name} has container ${name}`)
  return c
}

async function kubectl(
  args: string[],
  input?: string,
): Promise<{ stdout: string; stderr: string }> {
  const full = [...args, '--kubeconfig', KUBECONFIG]
  if (input !== undefined) {
    const file = join(tmp, `${randomBytes(4).toString('hex')}.yaml`)
    writeFileSync(file, input)
    full.push('-f', file)
  }
  try {
    return await run(KUBECTL, full, { maxBuffer: 16 * 1024 * 1024 })
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`kubectl ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err })
  }
}

async function helm(args: string[]): Promise<string> {
  try {
    const { stdout } = await run(HELM, [...args, '--kubeconfig', KUBECONFIG], {
      maxBuffer: 16 * 1024 * 1024,
    })
    return stdout
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`helm ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err })
  }
}

function toYamlStream(objs: object[]): string {
  return objs.map((o) => JSON.stringify(o)).join('\n---\n')
}

describe('helm chart', () => {
  it('passes helm lint --strict with the defaults and with every chart/ci values file', async () => {
    await run(HELM, ['lint', CHART_DIR, '--strict'])
    for (const f of ciValuesFiles()) {
      await run(HELM, ['lint', CHART_DIR, '--strict', '--values', join(CI_DIR, f)])
    }
  })

  it('renders each chart/ci values file as its golden (UPDATE_GOLDEN=1 rewrites them)', async () => {
    const files = ciValuesFiles()
    assert.ok(files.length >= 3, 'at least three values files under chart/ci')
    for (const f of files) {
      const actual = await renderGolden(HELM, f)
      const goldenFile = join(GOLDEN_DIR, f)
      if (UPDATE) writeFileSync(goldenFile, actual)
      assert.ok(existsSync(goldenFile), `${goldenFile} missing: run with UPDATE_GOLDEN=1`)
      assert.equal(actual, readFileSync(goldenFile, 'utf8'), `${f} differs from its golden`)
    }
    const stale = readdirSync(GOLDEN_DIR).filter((g) => !files.includes(g))
    assert.deepEqual(stale, [], 'goldens without a chart/ci values file')
  })

  it('documents every value in chart/README.md', () => {
    const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8'))
    const defaults = parseDocument(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')).toJS()
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8')
    const paths = valuePaths(schema as SchemaNode, defaults as Record<string, unknown>)
    assert.ok(paths.length > 50, 'walked the values')
    const missing = paths.filter((p) => !readme.includes(`| \`${p}\` |`))
    assert.deepEqual(missing, [], 'values without a row in the README table')
  })

  it('rejects values the schema does not allow', async () => {
    const bad = [
      ['--set', 'broker.mode=sometimes'],
      ['--set', 'webhook.failurePolicy=Retry'],
      ['--set', 'tls.mode=acme'],
      ['--set', 'brokerTls.mode=none'],
      ['--set', 'broker.defaultPolicy=maybe'],
      ['--set', 'broker.legacyPermittedMatch=loose'],
      ['--set', 'broker.namespaceRestrictionFormat=wildcard'],
      ['--set', 'broker.sessionDuration=an-hour'],
      // Outside what the broker accepts (15m..12h), and a window the sidecar refuses.
      ['--set', 'broker.sessionDuration=14m'],
      ['--set', 'broker.sessionDuration=13h'],
      ['--set', 'injector.sidecar.refreshWindow=15m'],
      ['--set', 'brokr.mode=node'],
    ]
    for (const extra of bad) {
      await assert.rejects(helmTemplate(HELM, { extra }), /schema/, extra.join(' '))
    }
  })

  it('never asks for host access, privilege or capabilities, in any rendering', () => {
    for (const r of RENDERINGS) {
      const ws = workloads(objects(r.name))
      assert.ok(ws.length >= 2, `${r.name}: injector and broker workloads`)
      assert.deepEqual(ws.flatMap(privilegeFindings), [], r.name)
    }
    const node = workloads(objects('defaults, node mode'))
    assert.deepEqual(
      node.map((w) => w.kind),
      ['DaemonSet', 'Deployment'],
      'node mode: the broker is a DaemonSet',
    )
  })

  it('grants exactly the RBAC rules the programs declare', () => {
    for (const r of RENDERINGS) {
      const objs = objects(r.name)
      const mwc = objs.find((o) => o.kind === 'MutatingWebhookConfiguration')!
      // The patch rule must be there exactly when the injector runs with --tls-self-bootstrap.
      const args = containerOf(
        one<Workload>(objs, 'Deployment', 'iam-sidecar-injector'),
        'injector',
      ).args!.slice(1)
      const icfg = loadInjectorConfig(args, {})
      const { tlsSelfBootstrap, webhookConfigName } = icfg
      assert.equal(webhookConfigName, mwc.metadata.name)
      assert.equal(tlsSelfBootstrap, r.tls === 'selfBootstrap', r.name)
      assert.deepEqual(rulesOf(objs, 'iam-sidecar-broker'), BROKER_RULES, r.name)
      assert.deepEqual(
        rulesOf(objs, 'iam-sidecar-injector'),
        injectorRules({ webhookConfigName, selfBootstrap: tlsSelfBootstrap }),
        r.name,
      )
      // The CA Secret's rules: a Role in the namespace the injector keeps its CA in.
      const roles = objs.filter(
        (o) => o.kind === 'Role' && o.metadata.name === 'iam-sidecar-injector',
      )
      const namespaceRules = injectorNamespaceRules({
        caSecretName: icfg.webhookCaSecret,
        selfBootstrap: tlsSelfBootstrap,
      })
      assert.deepEqual(
        roles.map((o) => [
          o.metadata.namespace,
          (o as K8sObject & { rules: V1PolicyRule[] }).rules,
        ]),
        namespaceRules.length ? [[icfg.serviceNamespace, namespaceRules]] : [],
        r.name,
      )
      const roleBindings = objs.filter(
        (o) => o.kind === 'RoleBinding' && o.metadata.name === 'iam-sidecar-injector',
      ) as (K8sObject & { subjects: unknown[] })[]
      assert.deepEqual(
        roleBindings.map((b) => b.subjects),
        namespaceRules.length
          ? [
              [
                {
                  kind: 'ServiceAccount',
                  name: 'iam-sidecar-injector',
                  namespace: GOLDEN_NAMESPACE,
                },
              ],
            ]
          : [],
      )
      for (const name of ['iam-sidecar-broker', 'iam-sidecar-injector']) {
        const b = one<K8sObject & { subjects: unknown[] }>(objs, 'ClusterRoleBinding', name)
        assert.deepEqual(b.subjects, [
          { kind: 'ServiceAccount', name, namespace: GOLDEN_NAMESPACE },
        ])
      }
    }
  })

  it('passes flags the programs accept, wired to the rendered names', () => {
    for (const r of RENDERINGS) {
      const objs = objects(r.name)
      const injector = containerOf(
        one<Workload>(objs, 'Deployment', 'iam-sidecar-injector'),
        'injector',
      )
      const brokerW = workloads(objs).find((w) => w.metadata.name === 'iam-sidecar-broker')!
      const broker = containerOf(brokerW, 'broker')
      assert.deepEqual([injector.command, broker.command], [['iam-sidecar'], ['iam-sidecar']])
      assert.deepEqual([injector.args![0], broker.args![0]], ['injector', 'broker'])
      const icfg = loadInjectorConfig(injector.args!.slice(1), {})
      const bargs = broker.args!.slice(1).map((a) => a.replace('$(NODE_NAME)', 'node-a'))
      const bcfg = loadBrokerConfig(bargs, {})
      // The injector's view of the world matches what the chart created.
      const svc = one<K8sObject & { spec: { ports: { name: string; port: number }[] } }>(
        objs,
        'Service',
        'iam-sidecar-broker',
      )
      const https = svc.spec.ports.find((p) => p.name === 'https')!
      assert.equal(
        icfg.brokerUrl.href,
        `https://iam-sidecar-broker.${GOLDEN_NAMESPACE}.svc:${https.port}/`,
      )
      assert.equal(icfg.serviceName, 'iam-sidecar-injector')
      assert.equal(icfg.tokenAudience, bcfg.tokenAudience)
      assert.equal(icfg.defaultPolicy, bcfg.defaultPolicy)
      assert.equal(icfg.legacyPermittedMatch, bcfg.legacyPermittedMatch)
      assert.equal(icfg.namespaceRestrictions, bcfg.namespaceRestrictions)
      assert.equal(icfg.namespaceRestrictionFormat, bcfg.namespaceRestrictionFormat)
      assert.equal(icfg.baseRoleArn, bcfg.baseRoleArn)
      // The broker derives its cache thresholds above the window the injector gives sidecars.
      assert.equal(icfg.sidecarRefreshWindow, bcfg.sidecarRefreshWindow)
      for (const cm of objs.filter((o) => o.kind === 'ConfigMap')) {
        assert.equal(cm.metadata.name, icfg.brokerCaConfigMap)
      }
      const bundles = objs.filter((o) => o.kind === 'ClusterTrustBundle')
      assert.deepEqual(
        bundles.map((b) => b.metadata.name),
        icfg.brokerCaClusterTrustBundle ? [icfg.brokerCaClusterTrustBundle] : [],
        'the injector projects the ClusterTrustBundle the chart renders',
      )
      if (bcfg.mode === 'node') {
        assert.deepEqual(broker.env, [
          { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        ])
        assert.equal(
          (svc.spec as { internalTrafficPolicy?: string }).internalTrafficPolicy,
          'Local',
        )
      }
    }
  })

  it('registers the webhook for pod CREATE only, leaving out system and release namespaces', () => {
    for (const r of RENDERINGS) {
      const objs = objects(r.name)
      const mwc = one<K8sObject & { webhooks: Webhook[] }>(
        objs,
        'MutatingWebhookConfiguration',
        'iam-sidecar',
      )
      assert.equal(mwc.webhooks.length, 1)
      const w = mwc.webhooks[0]!
      assert.equal(w.sideEffects, 'None')
      assert.deepEqual(w.admissionReviewVersions, ['v1'])
      assert.equal(w.reinvocationPolicy, 'Never')
      assert.ok(['Fail', 'Ignore'].includes(w.failurePolicy))
      assert.deepEqual(
        w.rules.map((x) => [x.apiGroups, x.operations, x.resources]),
        [[[''], ['CREATE'], ['pods']]],
      )
      const notIn = w.namespaceSelector.matchExpressions.find(
        (e) => e.key === 'kubernetes.io/metadata.name',
      )
      assert.equal(notIn?.operator, 'NotIn')
      for (const ns of ['kube-system', 'kube-public', 'kube-node-lease', GOLDEN_NAMESPACE]) {
        assert.ok(notIn.values.includes(ns), `${r.name}: ${ns} left out`)
      }
      assert.equal(w.clientConfig.service.name, 'iam-sidecar-injector')
      const certManager = mwc.metadata.annotations?.['cert-manager.io/inject-ca-from']
      if (r.tls === 'selfBootstrap') assert.equal(w.clientConfig.caBundle, undefined, r.name)
      if (r.tls === 'secret') assert.match(w.clientConfig.caBundle ?? '', /^LS0tLS1CRUdJTi/)
      assert.equal(
        certManager,
        r.tls === 'certManager' ? `${GOLDEN_NAMESPACE}/iam-sidecar-injector-tls` : undefined,
        r.name,
      )
    }
    const dflt = one<K8sObject & { webhooks: Webhook[] }>(
      objects('defaults'),
      'MutatingWebhookConfiguration',
      'iam-sidecar',
    )
    assert.equal(dflt.webhooks[0]!.failurePolicy, 'Fail')
  })

  it('generates a broker certificate for its Service, signed by the CA the ConfigMaps carry', () => {
    const objs = objects('default-values.yaml')
    const secret = one<K8sObject & { data: Record<string, string> }>(
      objs,
      'Secret',
      'iam-sidecar-broker-tls',
    )
    const pem = (k: string) => Buffer.from(secret.data[k]!, 'base64').toString('utf8')
    const cert = new X509Certificate(pem('tls.crt'))
    const ca = new X509Certificate(pem('ca.crt'))
    assert.ok(cert.verify(ca.publicKey), 'signed by the CA')
    assert.equal(
      cert.checkHost(`iam-sidecar-broker.${GOLDEN_NAMESPACE}.svc`),
      `iam-sidecar-broker.${GOLDEN_NAMESPACE}.svc`,
    )
    const cm = one<K8sObject & { data: Record<string, string> }>(
      objs,
      'ConfigMap',
      'iam-sidecar-broker-ca',
    )
    assert.equal(cm.metadata.namespace, 'default')
    assert.equal(cm.data['ca.crt']!.trim(), pem('ca.crt').trim())
  })
})

/** Kinds of CRDs the test cluster does not serve (cert-manager, Prometheus Operator). */
const NOT_SERVED = /^(cert-manager\.io|monitoring\.coreos\.com)\//

describe('chart on a real API server', () => {
  for (const f of ciValuesFiles()) {
    it(`${f}: accepted by a server-side dry run in a namespace enforcing PSS restricted`, async () => {
      const ns = await cluster.freshNamespace('chart', {
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
      })
      const text = await helmTemplate(HELM, {
        release: 'iam-sidecar',
        namespace: ns,
        values: [join(CI_DIR, f)],
      })
      // cert-manager and ServiceMonitor objects are left out: their CRDs are not installed here.
      const objs = parseManifest(text).filter((o) => !NOT_SERVED.test(o.apiVersion))
      const res = await kubectl(['apply', '--dry-run=server'], toYamlStream(objs))
      assert.doesNotMatch(res.stderr, /PodSecurity|violate/i)
      assert.equal(res.stdout.trim().split('\n').length, objs.length, res.stdout)
      // Workloads are only warned about; the pods they would create are what PSS enforces. The
      // pods need their ServiceAccounts to exist, so those are created for real.
      await kubectl(['apply'], toYamlStream(objs.filter((o) => o.kind === 'ServiceAccount')))
      const pods = workloads(objs).map((w) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${w.metadata.name}-probe`,
          namespace: ns,
          labels: w.spec.template.metadata.labels,
        },
        spec: { ...w.spec.template.spec, nodeName: 'node-a' },
      }))
      const podRes = await kubectl(['apply', '--dry-run=server'], toYamlStream(pods))
      assert.doesNotMatch(podRes.stderr, /PodSecurity|violate/i)
      assert.equal(podRes.stdout.trim().split('\n').length, pods.length, podRes.stdout)
    })
  }

  it('helm install, then helm upgrade keeps the caBundle the injector wrote and the broker CA', async (t) => {
    const id = randomBytes(4).toString('hex')
    const release = `iam-sidecar-${id}`
    const ns = await cluster.freshNamespace('chart-install', {
      'pod-security.kubernetes.io/enforce': 'restricted',
    })
    // The installed webhook must not touch other tests' pods: only pods with this label.
    const values = join(tmp, `install-${id}.yaml`)
    writeFileSync(
      values,
      JSON.stringify({
        webhook: {
          failurePolicy: 'Ignore',
          objectSelector: { matchLabels: { 'iam-sidecar-chart-test': id } },
        },
        brokerCa: { namespaces: [ns] },
      }),
    )
    const common = [release, CHART_DIR, '--namespace', ns, '--values', values]
    after(() => helm(['uninstall', release, '--namespace', ns]).catch(() => undefined))
    await helm(['install', ...common])

    const secret = JSON.parse(
      (await kubectl(['get', 'secret', `${release}-broker-tls`, '-n', ns, '-o', 'json'])).stdout,
    ) as { data: Record<string, string> }
    const cm = JSON.parse(
      (await kubectl(['get', 'configmap', 'iam-sidecar-broker-ca', '-n', ns, '-o', 'json'])).stdout,
    ) as { data: Record<string, string> }
    assert.equal(
      cm.data['ca.crt']!.trim(),
      Buffer.from(secret.data['ca.crt']!, 'base64').toString().trim(),
    )
    // Kubernetes 1.37 serves certificates.k8s.io/v1: brokerCa.distribution auto takes the
    // ClusterTrustBundle, which the injector is told to project (namespaces need no ConfigMap).
    const ctb = JSON.parse(
      (await kubectl(['get', 'clustertrustbundle', `${release}-broker-ca`, '-o', 'json'])).stdout,
    ) as { spec: { trustBundle: string } }
    assert.equal(ctb.spec.trustBundle.trim(), cm.data['ca.crt']!.trim())
    const injector = JSON.parse(
      (await kubectl(['get', 'deployment', `${release}-injector`, '-n', ns, '-o', 'json'])).stdout,
    ) as { spec: { template: { spec: { containers: { args: string[] }[] } } } }
    assert.ok(
      injector.spec.template.spec.containers[0]!.args.includes(
        `--broker-ca-cluster-trust-bundle=${release}-broker-ca`,
      ),
    )

    // What the injector does at start in selfBootstrap mode: write its CA into the caBundle.
    const caBundle = readFileSync(cluster.info.caCertFile).toString('base64')
    await kubectl([
      'patch',
      'mutatingwebhookconfiguration',
      release,
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: caBundle }]),
    ])
    // The upgrade's render copies it (lookup) ...
    const dry = await helm(['upgrade', ...common, '--dry-run=server'])
    assert.ok(dry.includes(`caBundle: ${caBundle}`), 'rendered upgrade carries the live caBundle')
    // ... and the live object keeps it, as does the broker's certificate.
    await helm(['upgrade', ...common])
    const mwc = JSON.parse(
      (await kubectl(['get', 'mutatingwebhookconfiguration', release, '-o', 'json'])).stdout,
    ) as { webhooks: Webhook[] }
    assert.equal(mwc.webhooks[0]!.clientConfig.caBundle, caBundle)
    const after2 = JSON.parse(
      (await kubectl(['get', 'secret', `${release}-broker-tls`, '-n', ns, '-o', 'json'])).stdout,
    ) as { data: Record<string, string> }
    assert.deepEqual(after2.data, secret.data, 'broker TLS Secret unchanged by the upgrade')

    // The Deployments' real pods pass PSS restricted (the controller manager creates them).
    if (cluster.info.controllerManager) await waitForPods(ns, release)
    else t.diagnostic("no kube-controller-manager: the Deployments' pods were not checked")
  })
})

/** Waits until the ReplicaSets created a pod for each Deployment (PSS would refuse them). */
async function waitForPods(ns: string, release: string): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const { stdout } = await kubectl(['get', 'pods', '-n', ns, '-o', 'json'])
    const pods = (JSON.parse(stdout) as { items: { metadata: { name: string } }[] }).items
    const names = pods.map((p) => p.metadata.name)
    const has = (c: string) => names.some((n) => n.startsWith(`${release}-${c}-`))
    if (has('injector') && has('broker')) return
    if (Date.now() > deadline) {
      const events = await kubectl(['get', 'events', '-n', ns])
      assert.fail(`no pods for both Deployments in ${ns}: ${names.join(', ')}\n${events.stdout}`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
}
