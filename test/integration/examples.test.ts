// The files in examples/ are what users copy, so they are checked like code: the IAM policies
// parse and grant what the broker needs, the manifests are accepted by a real API server (server
// dry-run, strict field validation, Pod Security `restricted` enforced on pods made from the
// templates), the namespace policy permits the example roles and nothing near them, and
// `iam-sidecar explain` agrees that the example pods would be injected and permitted.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CoreV1Api, type V1Deployment, type V1Namespace, type V1Pod } from '@kubernetes/client-node'
import { parseAllDocuments, stringify } from 'yaml'
import { sessionTags } from '../../broker/authorise.ts'
import { LEGACY_ROLE, PERMITTED, ROLE } from '../../lib/annotations.ts'
import { compileTenantRegex } from '../../lib/tenant-regex.ts'
import { DEFAULT_POLICY_OPTIONS, checkPolicy } from '../../lib/policy.ts'
import { resolveRole } from '../../lib/role.ts'
import { useCluster } from '../peers/cluster.ts'
import { repoRoot } from '../peers/paths.ts'

const cluster = await useCluster()
const core = cluster.kc.makeApiClient(CoreV1Api)
const EXAMPLES = join(repoRoot, 'examples')
const KUBECONFIG = join(cluster.info.workDir, 'kubeconfig-admin.yaml')
const ACCOUNT = '111122223333'
const BASE = `arn:aws:iam::${ACCOUNT}:role/`
const BROKER_ROLE = `${BASE}iam-sidecar-broker`
const POD_ROLE_ACTIONS = ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity']

type K8sObject = { kind: string; metadata: { name: string; namespace?: string } } & Record<
  string,
  unknown
>

interface Statement {
  Effect: string
  Action: string | string[]
  Resource?: string | string[]
  Principal?: { AWS?: string | string[]; Federated?: string }
  Condition?: Record<string, Record<string, string>>
}

const exampleYaml = (file: string): K8sObject[] =>
  parseAllDocuments(readFileSync(join(EXAMPLES, file), 'utf8')).map((d) => {
    assert.deepEqual(d.errors, [], file)
    return d.toJS() as K8sObject
  })
const one = <T>(file: string, kind: string): T => {
  const found = exampleYaml(file).filter((o) => o.kind === kind)
  assert.equal(found.length, 1, `${file}: one ${kind}`)
  return found[0] as unknown as T
}
const policy = (file: string): { Version: string; Statement: Statement[] } =>
  JSON.parse(readFileSync(join(EXAMPLES, 'iam', file), 'utf8'))
const list = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v]
/** IAM's `*` and `?` wildcards in a Resource, as an anchored regular expression. */
const iamWildcard = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
      .join('')}$`,
  )

const namespace = one<V1Namespace>('namespace.yaml', 'Namespace')
const whoami = one<V1Deployment>('deployment.yaml', 'Deployment')
const uploader = one<V1Deployment>('serviceaccount.yaml', 'Deployment')
const uploaderSa = one<K8sObject & { metadata: { annotations: Record<string, string> } }>(
  'serviceaccount.yaml',
  'ServiceAccount',
)
const NS_NAME = namespace.metadata!.name!
/** The role ARN each example pod ends up with. */
const WHOAMI_ROLE = whoami.spec!.template.metadata!.annotations![ROLE]!
const uploaderResolved = resolveRole(uploaderSa.metadata.annotations[ROLE]!, BASE)
assert.ok(uploaderResolved.ok)
const UPLOADER_ROLE = uploaderResolved.role.arn

/** Runs kubectl as admin with `input` on stdin; resolves with stdout, rejects with stderr. */
function kubectl(args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cluster.bins.kubectl, [`--kubeconfig=${KUBECONFIG}`, ...args])
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d))
    p.stderr.on('data', (d: Buffer) => (err += d))
    p.on('error', reject)
    p.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')}: ${err || out}`)),
    )
    p.stdin.end(input)
  })
}

/** Server dry-run of objects, strictly validated, with API warnings (Pod Security) as errors. */
async function dryRunApply(objects: object[]): Promise<string> {
  const yaml = objects.map((o) => stringify(o)).join('---\n')
  return kubectl(
    ['apply', '--dry-run=server', '--validate=strict', '--warnings-as-errors', '-f', '-'],
    yaml,
  )
}

const inNamespace = (o: K8sObject, ns: string): K8sObject => ({
  ...o,
  metadata: { ...o.metadata, namespace: ns },
})

/** The pod a Deployment's ReplicaSet would create (before any webhook). */
function podOf(d: V1Deployment, ns: string): V1Pod {
  const t = d.spec!.template
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...t.metadata, name: `${d.metadata!.name}-0`, namespace: ns },
    spec: t.spec!,
  }
}

async function explain(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(repoRoot, 'bin', 'iam-sidecar.ts'), 'explain', ...args])
    let out = ''
    let err = ''
    p.stdout.on('data', (d: Buffer) => (out += d))
    p.stderr.on('data', (d: Buffer) => (err += d))
    p.on('error', reject)
    p.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`explain exited ${code}: ${err}`)),
    )
  })
}

let ns: string
let tmp: string

before(async () => {
  // A fresh namespace with the example's labels (Pod Security restricted) and policy.
  ns = await cluster.freshNamespace(
    'examples',
    namespace.metadata!.labels ?? {},
    namespace.metadata!.annotations ?? {},
  )
  tmp = mkdtempSync(join(tmpdir(), 'iam-sidecar-examples-'))
})
after(() => rmSync(tmp, { recursive: true, force: true }))

describe('examples/iam', () => {
  it('every policy parses, has Version 2012-10-17 and Allow statements with actions', () => {
    const files = readdirSync(join(EXAMPLES, 'iam')).filter((f) => f.endsWith('.json'))
    assert.ok(files.length >= 4, files.join(', '))
    for (const f of files) {
      const p = policy(f)
      assert.equal(p.Version, '2012-10-17', f)
      assert.ok(Array.isArray(p.Statement) && p.Statement.length > 0, f)
      for (const s of p.Statement) {
        assert.equal(s.Effect, 'Allow', f)
        assert.ok(list(s.Action).length > 0, f)
        assert.ok(
          list(s.Action).every((a) => /^sts:[A-Za-z]+$/.test(a)),
          f,
        )
      }
    }
  })

  it('the broker may assume, tag and set SourceIdentity on exactly the example pod roles', () => {
    const [s, ...rest] = policy('broker-role-policy.json').Statement
    assert.deepEqual(rest, [])
    assert.deepEqual(list(s!.Action).sort(), [...POD_ROLE_ACTIONS].sort())
    const resources = list(s!.Resource).map(iamWildcard)
    for (const role of [WHOAMI_ROLE, UPLOADER_ROLE])
      assert.ok(
        resources.some((r) => r.test(role)),
        `${role} is within the broker's Resource`,
      )
    assert.ok(!resources.some((r) => r.test(`${BASE}admin`)))
    assert.ok(!resources.some((r) => r.test(BROKER_ROLE)), 'the broker cannot assume itself')
  })

  it("the broker's IRSA trust names the chart's broker ServiceAccount", () => {
    const [s] = policy('broker-role-trust-irsa.json').Statement
    assert.deepEqual(list(s!.Action), ['sts:AssumeRoleWithWebIdentity'])
    assert.match(s!.Principal!.Federated!, /^arn:aws:iam::\d{12}:oidc-provider\//)
    const eq = s!.Condition!.StringEquals!
    const sub = Object.entries(eq).find(([k]) => k.endsWith(':sub'))
    assert.equal(sub?.[1], 'system:serviceaccount:iam-sidecar:iam-sidecar-broker')
    assert.ok(Object.entries(eq).some(([k, v]) => k.endsWith(':aud') && v === 'sts.amazonaws.com'))
  })

  it('pod-role trust policies allow AssumeRole, TagSession and SetSourceIdentity to one principal', () => {
    const trusts = {
      'pod-role-trust.json': BROKER_ROLE,
      'pod-role-trust-with-external-id.json': BROKER_ROLE,
      'pod-role-trust-kube2iam-compatible.json': `${BASE}kubernetes-worker-node`,
    }
    for (const [file, principal] of Object.entries(trusts)) {
      const statements = policy(file).Statement
      const actions = new Set(statements.flatMap((s) => list(s.Action)))
      assert.deepEqual([...actions].sort(), [...POD_ROLE_ACTIONS].sort(), file)
      for (const s of statements) assert.deepEqual(list(s.Principal?.AWS), [principal], file)
    }
    // kube2iam (still running during a migration) sends no tags: its AssumeRole is unconditional.
    const kube2iam = policy('pod-role-trust-kube2iam-compatible.json').Statement
    assert.ok(kube2iam.some((s) => list(s.Action).includes('sts:AssumeRole') && !s.Condition))
  })

  it('trust conditions use only session tags the broker sends, with the example namespace', () => {
    const sent = sessionTags(
      { namespace: NS_NAME, podName: 'p', podUid: 'u', serviceAccount: 'sa', nodeName: 'n' },
      'c',
    ).map((t) => t.Key)
    for (const file of ['pod-role-trust.json', 'pod-role-trust-with-external-id.json']) {
      const conditions = policy(file).Statement.flatMap((s) => Object.values(s.Condition ?? {}))
      const keys = conditions.flatMap((c) => Object.entries(c))
      const tags = keys.filter(([k]) => k.startsWith('aws:RequestTag/'))
      assert.ok(tags.length > 0, file)
      for (const [k] of tags) assert.ok(sent.includes(k.slice('aws:RequestTag/'.length)), k)
      assert.deepEqual(
        keys.filter(([k]) => k === 'aws:RequestTag/kubernetes-namespace').map(([, v]) => v),
        [NS_NAME],
        file,
      )
    }
    const like = policy('pod-role-trust.json').Statement[0]!.Condition!.StringLike!
    assert.equal(like['sts:SourceIdentity'], `${NS_NAME}@*`)
  })
})

describe('examples/*.yaml', () => {
  it('every manifest is accepted by the API server (server dry-run, strict validation)', async () => {
    const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'))
    assert.deepEqual(files.sort(), ['deployment.yaml', 'namespace.yaml', 'serviceaccount.yaml'])
    for (const f of files) {
      const objects = exampleYaml(f).map((o) =>
        o.kind === 'Namespace'
          ? { ...o, metadata: { ...o.metadata, name: `${ns}-new` } }
          : inNamespace(o, ns),
      )
      const out = await dryRunApply(objects)
      for (const o of objects)
        assert.match(out, new RegExp(`/${o.metadata.name} created \\(server dry run\\)`), f)
    }
  })

  it('pods made from the Deployment templates pass Pod Security restricted', async () => {
    // The ServiceAccount admission plugin needs the pods' ServiceAccounts to exist.
    await kubectl(['apply', '-f', '-'], stringify(inNamespace(uploaderSa, ns)))
    for (let i = 0; ; i++) {
      const sa = await core.readNamespacedServiceAccount({ name: 'default', namespace: ns }).then(
        () => true,
        () => false,
      )
      if (sa) break
      assert.ok(i < 100, 'the default ServiceAccount never appeared')
      await new Promise((r) => setTimeout(r, 100))
    }
    const out = await dryRunApply([podOf(whoami, ns), podOf(uploader, ns)])
    assert.match(out, /pod\/whoami-0 created \(server dry run\)/)
    assert.match(out, /pod\/uploader-0 created \(server dry run\)/)
  })

  it("the namespace's iam-sidecar/permitted permits the example roles and nothing near them", () => {
    const compiled = compileTenantRegex(namespace.metadata!.annotations![PERMITTED]!)
    const re = { test: (arn: string) => compiled.fullMatch(arn) }
    for (const role of [WHOAMI_ROLE, UPLOADER_ROLE]) assert.ok(re.test(role), role)
    for (const role of [
      `${BASE}admin`,
      `${BASE}k8s-admin`,
      `${BASE}k8s-team-b-reader`,
      `${BASE}k8s-team-a-x/admin`,
      `${BASE}k8s-team-a-`,
      'arn:aws:iam::444455556666:role/k8s-team-a-reader',
      `${WHOAMI_ROLE}/x`,
    ])
      assert.ok(!re.test(role), role)
  })

  it('the examples name roles only with iam-sidecar/role (the legacy key is for migrations)', () => {
    for (const d of [whoami, uploader])
      assert.equal(d.spec!.template.metadata!.annotations![LEGACY_ROLE], undefined)
  })
})

describe('iam-sidecar explain on the examples', () => {
  it('the Deployment pod: would inject, role from the pod annotation, permitted', async () => {
    const pod = join(tmp, 'whoami-pod.yaml')
    writeFileSync(pod, stringify(podOf(whoami, NS_NAME)))
    const out = await explain([`--pod=${pod}`, `--namespace=${join(EXAMPLES, 'namespace.yaml')}`])
    assert.match(out, new RegExp(`^pod ${NS_NAME}/whoami-0\n`))
    assert.match(out, /\n {2}injection: would inject \(\d+ JSON Patch operations\)\n/)
    assert.match(out, /\n {2}credentials for containers: aws\n/)
    assert.ok(out.includes(`role: ${WHOAMI_ROLE} (from pod annotation ${ROLE})`), out)
    assert.match(out, /\n {2}verdict: permitted\n/)
    assert.doesNotMatch(out, /warning:/)
  })

  it('the ServiceAccount pod: role from the ServiceAccount, short name expanded, permitted', async () => {
    const pod = join(tmp, 'uploader-pod.yaml')
    const sa = join(tmp, 'uploader-sa.yaml')
    writeFileSync(pod, stringify(podOf(uploader, NS_NAME)))
    writeFileSync(sa, stringify(uploaderSa))
    const out = await explain([
      `--pod=${pod}`,
      `--namespace=${join(EXAMPLES, 'namespace.yaml')}`,
      `--service-account=${sa}`,
      `--base-role-arn=${BASE}`,
    ])
    assert.match(out, /\n {2}injection: would inject/)
    assert.ok(out.includes(`role: ${UPLOADER_ROLE} (from ServiceAccount annotation ${ROLE})`), out)
    assert.match(out, /\n {2}verdict: permitted\n/)
  })
})

describe('examples/*.md', () => {
  it("the guide's translation of kube2iam's allowed-roles permits exactly what kube2iam did", () => {
    const guide = readFileSync(join(EXAMPLES, 'migrating-from-kube2iam-and-kiam.md'), 'utf8')
    const block = /```yaml\n(# kube2iam \(glob format\)[\s\S]*?)```/.exec(guide)?.[1]
    assert.ok(block, 'the guide has the translation example')
    const [kube2iam, ours] = parseAllDocuments(block).map(
      (d) =>
        (d.toJS() as { metadata: { annotations: Record<string, string> } }).metadata.annotations,
    )
    // kube2iam's meaning, as the broker honours it with --namespace-restrictions.
    const kube2iamPermits = (arn: string) =>
      checkPolicy(
        {
          namespace: 'ns',
          annotations: kube2iam!,
          role: { arn, asWritten: arn },
          baseRoleArn: BASE,
        },
        { ...DEFAULT_POLICY_OPTIONS, namespaceRestrictions: true },
      ).permitted
    const translated = compileTenantRegex(ours![PERMITTED]!)
    const candidates = [
      `${BASE}team-a-web`,
      `${BASE}team-a-x/admin`,
      `${BASE}team-b-web`,
      `${BASE}shared.reader`,
      `${BASE}sharedXreader`,
      `${BASE}shared.reader-admin`,
      'arn:aws:iam::444455556666:role/cross-account-ro',
      `${BASE}cross-account-ro`,
      'arn:aws:iam::444455556666:role/team-a-web',
    ]
    for (const arn of candidates) assert.equal(translated.fullMatch(arn), kube2iamPermits(arn), arn)
  })

  it('every relative link points at a file that exists', () => {
    const docs = readdirSync(EXAMPLES).filter((f) => f.endsWith('.md'))
    assert.ok(docs.includes('README.md') && docs.includes('migrating-from-kube2iam-and-kiam.md'))
    for (const doc of docs) {
      const text = readFileSync(join(EXAMPLES, doc), 'utf8')
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue
        assert.ok(existsSync(join(EXAMPLES, target!)), `${doc} links to ${target}`)
      }
    }
  })
})
