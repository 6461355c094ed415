// The broker's informers on a real API server: only pods the injector labelled are watched, and
// only the fields authorisation reads are kept of them (lib/object-views.ts); any other pod is still
// found by a GET, so the broker can say why it refuses it.
import { after, before, it } from 'node:test'
import assert from 'node:assert/strict'
import { InformerLookup } from '../../lib/kube-objects.ts'
import { createLogger } from '../../lib/log.ts'
import { useCluster } from '../peers/cluster.ts'
import { createPod, createServiceAccount } from '../support/pods.ts'

const cluster = await useCluster()
const log = createLogger({ level: 'error', component: 'test', write: () => {} })
let lookup: InformerLookup
let ns: string

before(async () => {
  ns = await cluster.freshNamespace('objects')
  await createServiceAccount(cluster, ns)
  lookup = new InformerLookup(cluster.kc, { pods: true, log })
  await lookup.start()
})
after(() => lookup?.stop())

it('keeps a view of the labelled pods and finds the others by GET', async () => {
  const labelled = await createPod(cluster, { namespace: ns, name: 'labelled' })
  const plain = await createPod(cluster, { namespace: ns, name: 'plain', labels: {} })
  let seen = await lookup.pod(ns, 'labelled', labelled.metadata!.uid!)
  for (let i = 0; i < 50 && seen?.status !== undefined; i++) {
    // Not in the informer yet: the GET answered with the whole pod. Wait for the watch.
    await new Promise((r) => setTimeout(r, 100))
    seen = await lookup.pod(ns, 'labelled', labelled.metadata!.uid!)
  }
  assert.equal(seen?.metadata?.uid, labelled.metadata!.uid)
  assert.equal(seen?.status, undefined, 'the informer holds the view, without status')
  assert.equal(seen?.metadata?.managedFields, undefined)
  assert.deepEqual(
    seen?.spec?.initContainers?.map((c) => c.name),
    ['iam-sidecar'],
  )
  assert.equal(seen?.spec?.containers[0]?.image, undefined, 'no image, env or mounts kept')
  const other = await lookup.pod(ns, 'plain', plain.metadata!.uid!)
  assert.equal(other?.metadata?.uid, plain.metadata!.uid, 'an unlabelled pod is found by GET')
  assert.ok(other?.status !== undefined, 'and comes whole from the API server')
})
