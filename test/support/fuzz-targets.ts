// The three real servers the hostile-input suite and bench/reliability-fuzz.ts aim at: the real
// broker (in-process, logs captured), the sidecar bundle as a process fed by it with a real
// pod-bound token, the real injector, and namespaces carrying hostile `permitted` policies.
import {
  BROKER_AWS_CREDENTIALS,
  startRealBroker,
  type TestBrokerRuntime,
} from './broker-fixture.ts'
import { HOSTILE_POLICIES } from './fuzz.ts'
import { startTestInjector, type TestInjector } from './injector-fixture.ts'
import { createPod, createServiceAccount, podToken } from './pods.ts'
import { readSecret, startSidecar, type SidecarProcess } from './sidecar-process.ts'
import type { TestCluster } from '../peers/cluster.ts'

export const FUZZ_ACCOUNT = '123456789012'

export interface FuzzTargets {
  readonly broker: TestBrokerRuntime
  readonly sidecar: SidecarProcess
  readonly injector: TestInjector
  readonly podSecret: string
  readonly hostileNamespaces: readonly string[]
  /** Every secret issued so far (broker identity, pod token, pod secret); callers add more. */
  readonly secrets: string[]
  stop(): Promise<void>
}

export async function startFuzzTargets(cluster: TestCluster): Promise<FuzzTargets> {
  const secrets: string[] = [BROKER_AWS_CREDENTIALS.secretAccessKey]
  const broker = await startRealBroker(cluster)
  const ns = await cluster.freshNamespace(
    'fuzz',
    {},
    { 'iam-sidecar/permitted': `arn:aws:iam::${FUZZ_ACCOUNT}:role/web` },
  )
  await createServiceAccount(cluster, ns)
  const pod = await createPod(cluster, {
    namespace: ns,
    name: 'fuzz',
    annotations: { 'iam-sidecar/role': 'web' },
  })
  const token = await podToken(cluster, pod)
  secrets.push(token)
  const sidecar = await startSidecar({ brokerUrl: broker.url, caFile: broker.caFile, token })
  const podSecret = readSecret(sidecar)
  secrets.push(podSecret)
  const hostileNamespaces: string[] = []
  for (const p of HOSTILE_POLICIES) {
    const hns = await cluster.freshNamespace('hostile', {}, { 'iam-sidecar/permitted': p })
    await createServiceAccount(cluster, hns, 'app', { 'iam-sidecar/role': 'a'.repeat(64) })
    hostileNamespaces.push(hns)
  }
  const injector = await startTestInjector(cluster, [
    `--broker-url=${broker.url}`,
    `--base-role-arn=arn:aws:iam::${FUZZ_ACCOUNT}:role/`,
  ])
  return {
    broker,
    sidecar,
    injector,
    podSecret,
    hostileNamespaces,
    secrets,
    async stop() {
      await sidecar.stop()
      await injector.close()
      await broker.close()
    },
  }
}
