// Self-bootstrapped webhook TLS, correct for any number of replicas and restarts: every replica
// signs its own serving certificate from one CA kept in a Secret (shared-ca.ts), and the caBundle
// holds that CA (and the previous one during a rotation, ca-state.ts; for an hour after an
// upgrade, the older versions' per-replica CAs too). At start the bundle is
// published before the first certificate is served; then every check interval each replica
// re-reads both, repairs the bundle if it changed, and moves to a new CA when it should.
import { X509Certificate } from 'node:crypto'
import type { Server } from 'node:https'
import type { KubeConfig, V1MutatingWebhookConfiguration } from '@kubernetes/client-node'
import { systemClock, type Clock } from '../lib/clock.ts'
import type { Logger } from '../lib/log.ts'
import { issueServingCert, makeCa } from '../lib/self-signed.ts'
import { kubeCaSecretStore } from './ca-secret-store.ts'
import {
  bundleOf,
  legacyCasToKeep,
  parseCa,
  signingCa,
  type CaDecision,
  type CaPolicy,
  type CaState,
  type StoredCa,
} from './ca-state.ts'
import { ensureSharedCa } from './shared-ca.ts'
import { certsInBundle, patchWebhookCaBundle } from './webhook-ca.ts'

export interface SelfBootstrapOptions {
  readonly webhookConfigName: string
  readonly caSecret: { readonly namespace: string; readonly name: string }
  /** SANs of the serving certificates. */
  readonly dnsNames: readonly string[]
  readonly ipAddresses: readonly string[]
  readonly policy: CaPolicy
}

export interface SelfBootstrappedTls {
  /** The serving certificate and key in use (PEM). */
  readonly serving: { readonly cert: string; readonly key: string }
  /** The CA that signed it. */
  readonly caPem: string
  /** Checks every check interval, swapping the server's certificate when it moves to another
   * CA; returns the stop function. */
  watch(server: Server): () => void
}

/** A fingerprint that names a CA in logs (public: the certificate is in the caBundle). */
const fingerprint = (certPem: string): string => new X509Certificate(certPem).fingerprint256

/** So that helm uninstall, which deletes the configuration, garbage-collects the CA too. */
function ownerOf(mwc: V1MutatingWebhookConfiguration):
  | {
      apiVersion: string
      kind: string
      name: string
      uid: string
    }
  | undefined {
  const { name, uid } = mwc.metadata ?? {}
  if (!name || !uid) return undefined
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    name,
    uid,
  }
}

export async function startSelfBootstrappedTls(
  kc: KubeConfig,
  o: SelfBootstrapOptions,
  deps: { log: Logger; clock?: Clock },
): Promise<SelfBootstrappedTls> {
  const clock = deps.clock ?? systemClock
  const log = deps.log.child({ caStore: `${o.caSecret.namespace}/${o.caSecret.name}` })
  const store = kubeCaSecretStore(kc, o.caSecret)
  const newCa = async (): Promise<StoredCa> => {
    const now = clock.now()
    const pair = await makeCa({
      commonName: `iam-sidecar webhook CA ${new Date(now).toISOString()}`,
      validUntil: new Date(now + o.policy.validityMs),
    })
    return parseCa(pair.certPem, pair.keyPem, 'new CA')
  }

  /** The shared CA, written first if it needs to be, and the caBundle made to hold it. */
  async function sync(): Promise<CaState> {
    let state: CaState | undefined
    let wrote: CaDecision = 'keep'
    let published: readonly string[] = []
    const patched = await patchWebhookCaBundle(kc, {
      webhookConfigName: o.webhookConfigName,
      // Read the Secret after the configuration: see patchWebhookCaBundle.
      caPems: async (mwc) => {
        const r = await ensureSharedCa({
          store,
          policy: o.policy,
          now: () => clock.now(),
          newCa,
          owner: ownerOf(mwc),
        })
        state = r.state
        if (r.wrote !== 'keep') wrote = r.wrote
        const now = clock.now()
        const inBundle = (mwc.webhooks ?? []).flatMap((w) =>
          certsInBundle(w.clientConfig?.caBundle),
        )
        published = [...bundleOf(r.state, now), ...legacyCasToKeep(r.state, now, inBundle)]
        return published
      },
    })
    const shared = state!
    if (wrote !== 'keep')
      log.info(`webhook CA: ${wrote}`, {
        ca: fingerprint(shared.current.certPem),
        caNotAfter: new Date(shared.current.notAfter).toISOString(),
      })
    if (patched > 0)
      log.info('self-bootstrapped TLS: caBundle published', {
        webhookConfiguration: o.webhookConfigName,
        webhooks: patched,
        cas: published.map(fingerprint),
      })
    return shared
  }

  async function issueFrom(ca: StoredCa): Promise<{ cert: string; key: string }> {
    const pair = await issueServingCert(ca, {
      dnsNames: o.dnsNames,
      ipAddresses: o.ipAddresses,
      // Never outlives its CA, so the CA can leave the bundle when it expires.
      validUntil: new Date(ca.notAfter),
    })
    return { cert: pair.certPem, key: pair.keyPem }
  }

  let signer = signingCa(await sync(), clock.now(), o.policy)
  let serving = await issueFrom(signer)
  log.info('self-bootstrapped TLS: serving certificate issued', { ca: fingerprint(signer.certPem) })

  return {
    get serving() {
      return serving
    },
    get caPem() {
      return signer.certPem
    },
    watch(server) {
      let stopped = false
      let cancel = (): void => {}
      const check = async (): Promise<void> => {
        const next = signingCa(await sync(), clock.now(), o.policy)
        if (next.certPem === signer.certPem) return
        const pair = await issueFrom(next)
        server.setSecureContext(pair)
        ;[signer, serving] = [next, pair]
        log.info('self-bootstrapped TLS: serving certificate moved to another CA', {
          ca: fingerprint(next.certPem),
        })
      }
      const schedule = (): void => {
        cancel = clock.setTimer(() => {
          check()
            .catch((err: unknown) =>
              log.warn('webhook CA check failed; serving the current certificate', {
                error: err as Error,
              }),
            )
            .finally(() => {
              if (!stopped) schedule()
            })
        }, o.policy.checkIntervalMs)
      }
      schedule()
      return () => {
        stopped = true
        cancel()
      }
    },
  }
}
