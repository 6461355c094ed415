// Self-bootstrapped webhook TLS with several injector replicas on a real API server: three
// injector processes, one of them restarted ten times (crashes and clean stops), and after every
// restart each live replica's serving certificate must be trusted by the caBundle the API server
// uses — checked by a TLS handshake with that bundle, and by a real admission call routed to
// each replica (one webhook per replica, each selecting its own namespace).
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { AdmissionregistrationV1Api, CoreV1Api } from '@kubernetes/client-node'
import { useCluster } from '../peers/cluster.ts'
import {
  injectorReplicas,
  untrustedReplicas,
  type InjectorReplicas,
} from '../support/injector-replicas.ts'
import { scanForSecrets } from '../support/secret-scan.ts'

const cluster = await useCluster()
const admission = cluster.kc.makeApiClient(AdmissionregistrationV1Api)
const core = cluster.kc.makeApiClient(CoreV1Api)
const REPLICAS = 3
const RESTARTS = 10
let r: InjectorReplicas

before(async () => {
  r = await injectorReplicas(cluster, { replicas: REPLICAS })
})
after(() => r.close())

const readSecret = () =>
  core.readNamespacedSecret({ name: r.caSecret.name, namespace: r.caSecret.namespace })

describe(`${REPLICAS} injector replicas with self-bootstrapped TLS`, { timeout: 300_000 }, () => {
  let secretAtStart: { uid?: string; resourceVersion?: string } = {}

  it(`keeps every live replica trusted by the caBundle through ${RESTARTS} restarts of one of them`, async () => {
    // All at once: they race to create the one CA.
    await Promise.all([0, 1, 2].map((i) => r.start(i)))
    assert.deepEqual(await untrustedReplicas(r, { admission: true }), [], 'after the first start')
    // Read as it is now (compared later); a 404 here fails the next test, not this one.
    const secret = await readSecret().catch(() => undefined)
    secretAtStart = {
      uid: secret?.metadata?.uid,
      resourceVersion: secret?.metadata?.resourceVersion,
    }
    for (let n = 1; n <= RESTARTS; n++) {
      // Odd restarts crash (SIGKILL, as an OOM kill or a failed probe), even ones stop cleanly.
      await r.restart(REPLICAS - 1, n % 2 === 1 ? 'kill' : 'stop')
      assert.deepEqual(await untrustedReplicas(r, { admission: true }), [], `after restart ${n}`)
    }
  })

  it('shares one CA, created once in the Secret, between every replica and restart', async () => {
    const secret = await readSecret()
    assert.equal(secret.metadata?.uid, secretAtStart.uid, 'the Secret was never recreated')
    assert.equal(
      secret.metadata?.resourceVersion,
      secretAtStart.resourceVersion,
      'nor rewritten by a restart',
    )
    const ca = Buffer.from(secret.data!['ca.crt']!, 'base64').toString('utf8').trim()
    for (const bundle of await r.bundles()) assert.equal(bundle.trim(), ca, 'bundle = the one CA')
    const mwc = await admission.readMutatingWebhookConfiguration({ name: r.webhookConfigName })
    assert.deepEqual(
      secret.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
      [['MutatingWebhookConfiguration', r.webhookConfigName, mwc.metadata?.uid]],
      'deleting the webhook configuration (helm uninstall) garbage-collects the CA',
    )
  })

  it('writes no key material into any replica output', async () => {
    const secret = await readSecret()
    const keys = Object.entries(secret.data ?? {})
      .filter(([k]) => k.endsWith('.key'))
      .map(([, v]) => Buffer.from(v, 'base64').toString('utf8'))
    assert.ok(keys.length >= 1)
    // The PEM body without its armour lines: that is the part that must never appear.
    const bodies = keys.map((k) => k.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''))
    const seen = r.outputs()
    assert.equal(seen.length, REPLICAS + RESTARTS)
    assert.deepEqual(scanForSecrets(seen, [...bodies, ...keys]).where, [])
  })
})
