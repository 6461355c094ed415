// What a test file uses: `const cluster = await useCluster()` at module top level. Under
// `npm test` the run shares one control plane started by global-setup.ts (its info is in the
// file named by IAM_SIDECAR_TEST_CLUSTER); a file run on its own starts and stops its own.
import { after } from 'node:test'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { dirname } from 'node:path'
import { peerBinaries, type PeerBinaries } from './paths.ts'
import { openPki, type TestPki } from './pki.ts'
import { startControlPlane, type ControlPlaneInfo, type Identity } from './control-plane.ts'

export const CLUSTER_INFO_ENV = 'IAM_SIDECAR_TEST_CLUSTER'

export interface TestCluster {
  readonly info: ControlPlaneInfo
  readonly bins: PeerBinaries
  /** The cluster's test CA: issue serving certs for webhooks, brokers, test servers. */
  readonly pki: TestPki
  /** Admin client config. */
  readonly kc: KubeConfig
  /** Client config for one of the static identities (RBAC applies to all but admin). */
  kubeConfigAs(identity: Identity): KubeConfig
  /** Creates a namespace with a unique name (deleted at teardown) and returns its name. */
  freshNamespace(
    prefix: string,
    labels?: Record<string, string>,
    annotations?: Record<string, string>,
  ): Promise<string>
}

export function kubeConfigFor(info: ControlPlaneInfo, identity: Identity): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [
      {
        name: 'test',
        server: info.apiserverUrl,
        caData: readFileSync(info.caCertFile).toString('base64'),
      },
    ],
    users: [{ name: identity, token: info.tokens[identity] }],
    contexts: [{ name: 'test', cluster: 'test', user: identity }],
    currentContext: 'test',
  })
  return kc
}

export async function useCluster(): Promise<TestCluster> {
  const shared = process.env[CLUSTER_INFO_ENV]
  let info: ControlPlaneInfo
  if (shared) {
    info = JSON.parse(readFileSync(shared, 'utf8')) as ControlPlaneInfo
  } else {
    const plane = await startControlPlane()
    info = plane
    after(() => plane.stop())
  }
  const { cluster, deleteNamespaces } = makeTestCluster(info)
  // Namespaces of this file go away with it (a shared plane lives on); without the namespace
  // controller they would stay Terminating, which is harmless.
  if (shared) after(deleteNamespaces)
  return cluster
}

/** A TestCluster over a running control plane, with no test-runner hooks (benchmarks use it). */
export function makeTestCluster(info: ControlPlaneInfo): {
  cluster: TestCluster
  deleteNamespaces: () => Promise<void>
} {
  const created: string[] = []
  const kc = kubeConfigFor(info, 'admin')
  const core = kc.makeApiClient(CoreV1Api)
  const cluster: TestCluster = {
    info,
    bins: peerBinaries(),
    pki: openPki(dirname(info.caCertFile)),
    kc,
    kubeConfigAs: (identity) => kubeConfigFor(info, identity),
    async freshNamespace(prefix, labels = {}, annotations = {}) {
      const name = `${prefix}-${randomBytes(4).toString('hex')}`
      await core.createNamespace({ body: { metadata: { name, labels, annotations } } })
      created.push(name)
      return name
    },
  }
  return {
    cluster,
    deleteNamespaces: async () =>
      void (await Promise.allSettled(created.map((name) => core.deleteNamespace({ name })))),
  }
}
