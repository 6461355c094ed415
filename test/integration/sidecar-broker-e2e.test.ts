// Sidecar and broker together, as separate processes: a pod-bound token in the sidecar, the
// broker (started through the CLI) reviewing it against the API server and assuming the role
// from moto, and a real AWS SDK client in a third process getting the pod's role.
import { after, it } from 'node:test'
import assert from 'node:assert/strict'
import { useCluster } from '../peers/cluster.ts'
import { sdkClients } from '../sdk-clients/clients.ts'
import { startBrokerProcess } from '../support/broker-process.ts'
import { createPod, createServiceAccount, podToken } from '../support/pods.ts'
import { runClient } from '../support/run-client.ts'
import { startSidecar } from '../support/sidecar-process.ts'

const cluster = await useCluster()
const cleanups: (() => Promise<void>)[] = []
after(async () => {
  for (const c of cleanups.reverse()) await c()
})

it('an SDK client in the pod gets the pod role through sidecar and broker processes', async () => {
  const ns = await cluster.freshNamespace(
    'e2e',
    {},
    { 'iam-sidecar/permitted': 'arn:aws:iam::123456789012:role/app-.*' },
  )
  await createServiceAccount(cluster, ns, 'app', { 'iam-sidecar/role': 'app-reader' })
  const pod = await createPod(cluster, { namespace: ns, name: 'reader' })
  const broker = await startBrokerProcess(cluster)
  cleanups.push(() => broker.stop())
  const sidecar = await startSidecar({
    brokerUrl: broker.url,
    caFile: broker.caFile,
    token: await podToken(cluster, pod),
  })
  cleanups.push(() => sidecar.stop())
  const js = sdkClients.find((c) => c.id === 'js-v3')!
  const run = await runClient(js, {
    credentialsUrl: `${sidecar.url}/v1/credentials`,
    tokenFile: sidecar.secretFile,
    stsEndpoint: cluster.info.stsEndpoint,
  })
  assert.equal(run.code, 0, run.stderr)
  assert.match(
    run.stdout.trim(),
    new RegExp(`^arn:aws:sts::123456789012:assumed-role/app-reader/${ns}\\.reader-[0-9a-f]{8}$`),
  )
  assert.match(broker.output(), /"msg":"credentials issued"/)
})
