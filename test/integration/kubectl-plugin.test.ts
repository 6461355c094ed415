// `kubectl iam-sidecar explain` through the real kubectl: with bin/ (or a symlink to the plugin)
// on the PATH, kubectl lists the plugin and runs it, and the plugin reads a pod, its namespace
// and ServiceAccount from a real kube-apiserver, as kubectl resolves kubeconfig and namespace.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { useCluster } from '../peers/cluster.ts'
import { repoRoot } from '../peers/paths.ts'

const cluster = await useCluster()
const PLUGIN = join(repoRoot, 'bin', 'kubectl-iam_sidecar')
const ACCOUNT = '111122223333'
const BASE = `--base-role-arn=arn:aws:iam::${ACCOUNT}:role/`
// The host's own tools for the sh wrapper; its node (v20 here) must lose to the pinned one.
const SYSTEM_PATH = ['/usr/local/bin', '/usr/bin', '/bin']
const tmp = mkdtempSync(join(tmpdir(), 'iam-sidecar-kubectl-plugin-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

interface Run {
  readonly status: number
  readonly stdout: string
  readonly stderr: string
}

/** The real kubectl, with only `pathDirs` and the host's tools on PATH and HOME in the temp folder. */
function kubectl(
  args: readonly string[],
  o: { pathDirs?: readonly string[]; env?: Record<string, string> } = {},
): Promise<Run> {
  const PATH = [...(o.pathDirs ?? [join(repoRoot, 'bin')]), ...SYSTEM_PATH].join(delimiter)
  return new Promise((resolve) => {
    execFile(
      cluster.bins.kubectl,
      args,
      { encoding: 'utf8', env: { PATH, HOME: tmp, ...o.env } },
      (err, stdout, stderr) => resolve({ status: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

let ns: string
// current-context `team` carries the namespace; `plain` has none, so kubectl's default applies.
const kubeconfig = join(tmp, 'kubeconfig.yaml')

before(async () => {
  ns = await cluster.freshNamespace(
    'plugin',
    {},
    { 'iam-sidecar/permitted': `arn:aws:iam::${ACCOUNT}:role/web` },
  )
  const core = cluster.kc.makeApiClient(CoreV1Api)
  await core.createNamespacedServiceAccount({
    namespace: ns,
    body: { metadata: { name: 'app', annotations: { 'iam-sidecar/role': 'web' } } },
  })
  // No webhook is registered here: the pod is stored as given, and explain says what it would do.
  await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: 'web', annotations: { 'iam-sidecar/inject': 'true' } },
      spec: { serviceAccountName: 'app', containers: [{ name: 'main', image: 'example/app' }] },
    },
  })
  const admin = cluster.kc
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: admin.clusters,
    users: admin.users,
    contexts: [
      { name: 'team', cluster: admin.clusters[0]!.name, user: admin.users[0]!.name, namespace: ns },
      { name: 'plain', cluster: admin.clusters[0]!.name, user: admin.users[0]!.name },
    ],
    currentContext: 'team',
  })
  writeFileSync(kubeconfig, kc.exportConfig(), { mode: 0o600 })
})

function assertVerdict(r: Run): void {
  assert.equal(r.status, 0, r.stderr)
  const lines = r.stdout.trimEnd().split('\n')
  assert.equal(lines[0], `pod ${ns}/web`)
  assert.match(r.stdout, /^ {2}injection: would inject \(\d+ JSON Patch operations\)$/m)
  assert.match(r.stdout, /^ {2}credentials for containers: main$/m)
  assert.match(
    r.stdout,
    new RegExp(
      `^ {2}role: arn:aws:iam::${ACCOUNT}:role/web \\(from ServiceAccount annotation iam-sidecar/role\\)$`,
      'm',
    ),
  )
  assert.match(lines.at(-1)!, /^ {2}verdict: permitted$/)
}

describe('kubectl iam-sidecar (the kubectl plugin, through the real kubectl)', () => {
  it('kubectl plugin list finds bin/kubectl-iam_sidecar on the PATH', async () => {
    const r = await kubectl(['plugin', 'list'])
    assert.equal(r.status, 0, r.stderr)
    assert.ok(r.stdout.split('\n').includes(PLUGIN), r.stdout)
    assert.doesNotMatch(r.stderr, /warning/i)
  })

  it('explain <pod> -n <ns> prints the verdict for a live pod', async () => {
    assertVerdict(
      await kubectl(['iam-sidecar', 'explain', 'web', '-n', ns, '--kubeconfig', kubeconfig, BASE]),
    )
  })

  it("honours KUBECONFIG and the context's namespace, then default, as kubectl does", async () => {
    const env = { KUBECONFIG: kubeconfig }
    assertVerdict(await kubectl(['iam-sidecar', 'explain', 'web', BASE], { env }))
    const plain = await kubectl(['iam-sidecar', 'explain', 'web', '--context', 'plain', BASE], {
      env,
    })
    assert.equal(plain.status, 1, plain.stdout)
    assert.equal(plain.stderr, 'Error from server (NotFound): pods "web" not found\n')
    assertVerdict(
      await kubectl(
        ['iam-sidecar', 'explain', 'web', '--context=plain', `--namespace=${ns}`, BASE],
        {
          env,
        },
      ),
    )
  })

  it('runs through a symlink to the plugin (the real path finds the package)', async () => {
    const links = join(tmp, 'links')
    mkdirSync(links)
    symlinkSync(PLUGIN, join(links, 'kubectl-iam_sidecar'))
    const list = await kubectl(['plugin', 'list'], { pathDirs: [links] })
    assert.ok(list.stdout.split('\n').includes(join(links, 'kubectl-iam_sidecar')), list.stdout)
    assertVerdict(
      await kubectl(['iam-sidecar', 'explain', `pod/web`, '-n', ns, BASE], {
        pathDirs: [links],
        env: { KUBECONFIG: kubeconfig },
      }),
    )
  })

  it('prints its help, and refuses bad usage with exit 2 and what is wrong', async () => {
    const help = await kubectl(['iam-sidecar', 'explain', '--help'])
    assert.equal(help.status, 0, help.stderr)
    assert.match(help.stdout, /kubectl iam-sidecar explain <pod> \[-n <namespace>\]/)
    const bad = await kubectl(['iam-sidecar', 'explain', '-f', 'pod.yaml', '-n', ns])
    assert.equal(bad.status, 2)
    assert.match(bad.stderr, /^kubectl iam-sidecar: -n is for a live pod, not -f/)
    const none = await kubectl(['iam-sidecar', 'explain'])
    assert.equal(none.status, 2)
    assert.match(none.stderr, /give a pod name, or -f <manifest>/)
  })

  it('refuses a node older than 24 by name and version when the package has no pinned node', async () => {
    // A copy of the wrapper outside the package: no node_modules/.bin/node beside it, so the
    // PATH's node is used, here one that says it is v20.
    const fake = join(tmp, 'fake')
    mkdirSync(join(fake, 'bin'), { recursive: true })
    copyFileSync(PLUGIN, join(fake, 'bin', 'kubectl-iam_sidecar'))
    chmodSync(join(fake, 'bin', 'kubectl-iam_sidecar'), 0o755)
    writeFileSync(join(fake, 'node'), '#!/bin/sh\necho v20.11.1\n', { mode: 0o755 })
    const r = await kubectl(['iam-sidecar', 'explain', 'web'], {
      pathDirs: [fake, join(fake, 'bin')],
    })
    assert.equal(r.status, 1)
    assert.match(r.stderr, /Node\.js 24 or newer is required .*\/node is v20\.11\.1/)
  })

  it('prints a cluster error as one line through `iam-sidecar explain --live` too', async () => {
    const r = await new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        [
          join(repoRoot, 'bin', 'iam-sidecar.ts'),
          'explain',
          '--live',
          '--pod-name=absent',
          `--namespace-name=${ns}`,
          `--kubeconfig=${kubeconfig}`,
        ],
        { encoding: 'utf8' },
        (err, stdout, stderr) =>
          resolve({ status: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      )
    })
    assert.equal(r.status, 1)
    assert.equal(r.stderr, 'Error from server (NotFound): pods "absent" not found\n')
  })
})
