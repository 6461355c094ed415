// Publishes the shared webhook CA (ca-state.ts) as the caBundle of the injector's own
// MutatingWebhookConfiguration, so the API server trusts the webhook without cert-manager. The
// injector may touch that one object only (RBAC resourceNames), and never overwrites a change it
// has not seen.
import {
  AdmissionregistrationV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1PolicyRule,
} from '@kubernetes/client-node'
import { statusCode, statusMessage } from '../lib/api-status.ts'

const KIND = 'MutatingWebhookConfiguration'
const MAX_ATTEMPTS = 5

/** The only permission the injector needs for this: read and patch its own configuration. */
export function injectorWebhookRules(webhookConfigName: string): V1PolicyRule[] {
  return [
    {
      apiGroups: ['admissionregistration.k8s.io'],
      resources: ['mutatingwebhookconfigurations'],
      resourceNames: [webhookConfigName],
      verbs: ['get', 'patch'],
    },
  ]
}

type JsonPatchOp =
  { op: 'test'; path: string; value: string } | { op: 'add'; path: string; value: string }

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** The certificates (PEM, trimmed) in a caBundle as stored (base64), in order. */
export function certsInBundle(bundleB64: string | undefined): string[] {
  const pem = bundleB64 ? Buffer.from(bundleB64, 'base64').toString('utf8') : ''
  return [...pem.matchAll(PEM_CERT)].map((m) => m[0])
}

/** A caBundle (base64) of exactly these CA certificates. */
export function caBundleOf(caPems: readonly string[]): string {
  return Buffer.from(caPems.map((c) => c.trim()).join('\n') + '\n').toString('base64')
}

const sameCerts = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((c, i) => c === b[i])

/**
 * A JSON Patch that sets the caBundle of each webhook that does not hold exactly `caPems`
 * (none: only the test op), guarded by the resourceVersion we read: the webhook indexes are only
 * meaningful for that version, so a concurrent change (another replica, a Helm upgrade) makes
 * the patch fail instead of writing to the wrong entry.
 *
 * The bundle is replaced, not merged: every replica serves from the shared CA (ca-state.ts), so
 * the bundle is that CA, plus the previous one during a rotation, whoever writes it.
 */
export function caBundlePatch(
  mwc: V1MutatingWebhookConfiguration,
  caPems: readonly string[],
): JsonPatchOp[] {
  const resourceVersion = mwc.metadata?.resourceVersion
  if (!resourceVersion) throw new Error(`${KIND} ${mwc.metadata?.name} has no resourceVersion`)
  if (caPems.length === 0) throw new Error('a caBundle needs at least one CA')
  const want = caPems.map((c) => c.trim())
  const value = caBundleOf(want)
  return [
    { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
    // `add` on an existing member replaces it (RFC 6902 §4.1), so one op fits both cases.
    ...(mwc.webhooks ?? []).flatMap((w, i) =>
      sameCerts(certsInBundle(w.clientConfig?.caBundle), want)
        ? []
        : [{ op: 'add' as const, path: `/webhooks/${i}/clientConfig/caBundle`, value }],
    ),
  ]
}

/** An error that names the object and, for the usual mistakes, says what to fix. */
function failure(err: unknown, o: { verb: 'read' | 'patch'; name: string }): Error {
  const what = `cannot ${o.verb} ${KIND} ${o.name}`
  const code = statusCode(err)
  if (code === 403)
    return new Error(
      `${what}: forbidden — the injector needs get and patch on it (RBAC resourceNames)`,
      { cause: err },
    )
  if (code === 404)
    return new Error(`${what}: not found — it must exist before the injector starts`, {
      cause: err,
    })
  const detail = code === undefined ? statusMessage(err) : `HTTP ${code}: ${statusMessage(err)}`
  return new Error(`${what}: ${detail}`, { cause: err })
}

/** 409 Conflict, or 422 from a failed `test` op: someone changed the object since we read it. */
const isConflict = (err: unknown): boolean => [409, 422].includes(statusCode(err) ?? 0)

/**
 * Sets `clientConfig.caBundle` of every webhook of the named configuration to the CAs that
 * `caPems` returns, re-reading and retrying when the configuration changes concurrently.
 * `caPems` runs after each read of the configuration, so the bundle written is never older than
 * the configuration it is written over: a replica that read the CA Secret before another rotated
 * it cannot overwrite that replica's newer bundle (its guarded patch fails, and it reads again).
 * Returns how many webhooks were patched (0: all held the bundle already, nothing written).
 */
export async function patchWebhookCaBundle(
  kc: KubeConfig,
  o: {
    webhookConfigName: string
    caPems: (mwc: V1MutatingWebhookConfiguration) => Promise<readonly string[]>
  },
): Promise<number> {
  const api = kc.makeApiClient(AdmissionregistrationV1Api)
  const name = o.webhookConfigName
  for (let attempt = 1; ; attempt++) {
    let mwc: V1MutatingWebhookConfiguration
    try {
      mwc = await api.readMutatingWebhookConfiguration({ name })
    } catch (err) {
      throw failure(err, { verb: 'read', name })
    }
    const body = caBundlePatch(mwc, await o.caPems(mwc))
    const count = body.length - 1
    if (count === 0) return 0
    try {
      // client-node sends application/json-patch+json: the first type the operation lists.
      await api.patchMutatingWebhookConfiguration({ name, body })
      return count
    } catch (err) {
      if (!isConflict(err)) throw failure(err, { verb: 'patch', name })
      if (attempt >= MAX_ATTEMPTS)
        throw new Error(
          `cannot patch ${KIND} ${name}: it changed concurrently on each of ${attempt} attempts`,
          { cause: err },
        )
    }
  }
}
