// A rolling upgrade from injector versions that made one CA per process: while old replicas
// still serve from their own CAs, the new replicas keep those CAs in the caBundle next to the
// shared one (for an hour, ca-state.ts legacyCasToKeep), and drop CAs that are no injector's.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:tls'
import { AdmissionregistrationV1Api } from '@kubernetes/client-node'
import { caBundleOf } from '../../injector/webhook-ca.ts'
import { issueServingCert, makeCa } from '../../lib/self-signed.ts'
import { useCluster } from '../peers/cluster.ts'
import {
  SERVICE,
  injectorReplicas,
  untrustedReplicas,
  type InjectorReplicas,
} from '../support/injector-replicas.ts'

const cluster = await useCluster()
const admission = cluster.kc.makeApiClient(AdmissionregistrationV1Api)
let r: InjectorReplicas
let oldReplica: Server
let legacyCa = ''
let foreignCa = ''

before(async () => {
  r = await injectorReplicas(cluster, { replicas: 2 })
  // An old replica: its own CA, named as the old versions named theirs, and a server from it.
  const ca = await makeCa({ commonName: `iam-sidecar-webhook-ca-${Date.now()}`, days: 3650 })
  legacyCa = ca.certPem
  foreignCa = (await makeCa({ commonName: 'not an injector', days: 1 })).certPem
  const serving = await issueServingCert(ca, {
    dnsNames: [`${SERVICE}.${r.caSecret.namespace}.svc`],
    days: 3650,
  })
  oldReplica = createServer({ cert: serving.certPem, key: serving.keyPem })
  await new Promise<void>((res) => oldReplica.listen(0, '127.0.0.1', res))
  const mwc = await admission.readMutatingWebhookConfiguration({ name: r.webhookConfigName })
  await admission.patchMutatingWebhookConfiguration({
    name: r.webhookConfigName,
    body: (mwc.webhooks ?? []).map((_, i) => ({
      op: 'add',
      path: `/webhooks/${i}/clientConfig/caBundle`,
      value: caBundleOf([legacyCa, foreignCa]),
    })),
  })
})
after(async () => {
  oldReplica.close()
  await r.close()
})

function trustedByBundle(server: Server, ca: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      ca,
      servername: `${SERVICE}.${r.caSecret.namespace}.svc`,
    })
    socket.once('secureConnect', () => {
      socket.destroy()
      resolve(undefined)
    })
    socket.once('error', (err) => resolve(err.message))
  })
}

describe('upgrading from per-replica CAs', () => {
  it('keeps the old replicas trusted while the new ones serve from the shared CA', async () => {
    await Promise.all([r.start(0), r.start(1)])
    assert.deepEqual(await untrustedReplicas(r, { admission: true }), [])
    const subjects = (pem: string): string[] =>
      [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map(
        (m) => new X509Certificate(m[0]).subject,
      )
    for (const bundle of await r.bundles()) {
      assert.deepEqual(subjects(bundle).slice(1), [new X509Certificate(legacyCa).subject])
      assert.match(subjects(bundle)[0]!, /^CN=iam-sidecar webhook CA /, 'the shared CA first')
      assert.equal(await trustedByBundle(oldReplica, bundle), undefined, 'the old replica')
    }
  })
})
