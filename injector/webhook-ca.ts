// Publishes the injector's self-made CA as the caBundle of its own MutatingWebhookConfiguration,
// so the API server trusts the webhook without cert-manager. The injector may touch that one
// object only (RBAC resourceNames), and never overwrites a change it has not seen.
import {
  AdmissionregistrationV1Api,
  type KubeConfig,
  type V1MutatingWebhookConfiguration,
  type V1PolicyRule,
} from '@kubernetes/client-node'

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

/**
 * A JSON Patch that sets every webhook's caBundle, guarded by the resourceVersion we read: the
 * webhook indexes are only meaningful for that version, so a concurrent change (another replica,
 * a Helm upgrade) makes the patch fail instead of writing to the wrong entry.
 */
function caBundlePatch(mwc: V1MutatingWebhookConfiguration, caPem: string): JsonPatchOp[] {
  const resourceVersion = mwc.metadata?.resourceVersion
  if (!resourceVersion) throw new Error(`${KIND} ${mwc.metadata?.name} has no resourceVersion`)
  return [
    { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
    // `add` on an existing member replaces it (RFC 6902 §4.1), so one op fits both cases.
    ...(mwc.webhooks ?? []).map((w, i) => ({
      op: 'add' as const,
      path: `/webhooks/${i}/clientConfig/caBundle`,
      value: mergeCaBundle(w.clientConfig?.caBundle, caPem),
    })),
  ]
}

/** How many self-made CAs a bundle keeps: one per injector replica, plus restarts in flight. */
export const MAX_BUNDLED_CAS = 4

/**
 * The bundle with `caPem` appended (base64, as caBundle is stored). Every injector replica makes
 * its own CA at start, so replacing the bundle would lock out the replicas that started earlier;
 * appending keeps them trusted, and the oldest CAs fall off after MAX_BUNDLED_CAS.
 */
export function mergeCaBundle(existingB64: string | undefined, caPem: string): string {
  const existing = existingB64 ? Buffer.from(existingB64, 'base64').toString('utf8') : ''
  const certs = [
    ...existing.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g),
  ].map((m) => m[0])
  const fresh = caPem.trim()
  const kept = [...certs.filter((c) => c !== fresh), fresh].slice(-MAX_BUNDLED_CAS)
  return Buffer.from(kept.join('\n') + '\n').toString('base64')
}

function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code
  return typeof code === 'number' ? code : undefined
}

/** The API server's Status message from a client-node ApiException, if it has one. */
function statusMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown }
    if (typeof status?.message === 'string') return status.message
  } catch {
    // not a Status object: fall through to the client's own message
  }
  return err instanceof Error ? err.message.split('\n')[0]! : String(err)
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
 * Sets `clientConfig.caBundle` (base64 of `caPem`) on every webhook of the named configuration,
 * re-reading and retrying when it changes concurrently. Returns how many webhooks were patched.
 */
export async function patchWebhookCaBundle(
  kc: KubeConfig,
  o: { webhookConfigName: string; caPem: string },
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
    const body = caBundlePatch(mwc, o.caPem)
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
