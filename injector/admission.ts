// AdmissionReview v1 in, AdmissionReview v1 out. Decode and validate the review, look up the
// namespace and ServiceAccount, decide, patch. A review is always answered with a well-formed
// response echoing the request uid; only a body that is not an AdmissionReview at all gets an
// HTTP error (400).
import type { V1Namespace, V1Pod, V1ServiceAccount } from '@kubernetes/client-node'
import { INJECT } from '../lib/annotations.ts'
import { badRequest } from '../lib/errors.ts'
import type { Logger } from '../lib/log.ts'
import { planInjection, type InjectionConfig, type InjectionDecision } from './plan-injection.ts'
import { buildPatch } from './patch.ts'

export interface AdmissionResponse {
  readonly uid: string
  readonly allowed: boolean
  readonly patchType?: 'JSONPatch'
  readonly patch?: string
  readonly warnings?: readonly string[]
  readonly status?: { readonly code: number; readonly reason: string; readonly message: string }
}

export interface AdmissionReviewOut {
  readonly apiVersion: 'admission.k8s.io/v1'
  readonly kind: 'AdmissionReview'
  readonly response: AdmissionResponse
}

export interface Lookups {
  namespace(name: string): Promise<V1Namespace | undefined>
  serviceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined>
}

interface ReviewRequest {
  readonly uid: string
  readonly kind?: { readonly kind?: string }
  readonly operation?: string
  readonly subResource?: string
  readonly namespace?: string
  readonly object?: V1Pod
}

const UID = /^[A-Za-z0-9-]{1,128}$/
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/
/** The API server drops warnings over 256 characters; ours stay under. */
const MAX_WARNING = 250

export type Outcome = 'skip' | 'deny' | 'inject' | 'ignored' | 'error'

/** Pure: is this an AdmissionReview we can answer? Throws 400 naming what is wrong. */
export function parseReview(body: unknown): ReviewRequest {
  const o = body as { apiVersion?: unknown; kind?: unknown; request?: unknown } | null
  if (o === null || typeof o !== 'object' || Array.isArray(o))
    throw badRequest('NotAdmissionReview', 'the body must be a JSON AdmissionReview object')
  if (o.apiVersion !== 'admission.k8s.io/v1' || o.kind !== 'AdmissionReview') {
    throw badRequest(
      'NotAdmissionReview',
      'expected apiVersion admission.k8s.io/v1 and kind AdmissionReview',
    )
  }
  const r = o.request as ReviewRequest | undefined
  if (r === null || typeof r !== 'object' || typeof r.uid !== 'string' || !UID.test(r.uid)) {
    throw badRequest('InvalidRequest', 'request.uid must be a UID')
  }
  return r
}

export function respond(response: AdmissionResponse): AdmissionReviewOut {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }
}

type Result = { out: AdmissionReviewOut; outcome: Outcome }
type Deps = { lookups: Lookups; config: () => InjectionConfig; log: Logger }

const refuse = (uid: string, code: number, reason: string, message: string): AdmissionReviewOut =>
  respond({ uid, allowed: false, status: { code, reason, message: `iam-sidecar: ${message}` } })

export async function review(r: ReviewRequest, deps: Deps): Promise<Result> {
  const allow = (outcome: Outcome): Result => ({
    out: respond({ uid: r.uid, allowed: true }),
    outcome,
  })
  if (r.kind?.kind !== 'Pod' || r.operation !== 'CREATE' || r.subResource) return allow('ignored')
  const target = podOf(r)
  if (!target) {
    return {
      out: refuse(r.uid, 400, 'BadRequest', 'the review carries no pod with a spec and namespace'),
      outcome: 'error',
    }
  }
  const { pod, ns } = target
  if (pod.metadata?.annotations?.[INJECT] === undefined) return allow('skip')
  const log = deps.log.child({ pod: podName(ns, pod) })
  try {
    return answer(r.uid, pod, await planFor(pod, ns, deps), log)
  } catch (err) {
    log.warn('cannot read the namespace or ServiceAccount', { error: err as Error })
    return {
      out: refuse(
        r.uid,
        503,
        'ServiceUnavailable',
        'cannot read the namespace policy right now; retry',
      ),
      outcome: 'error',
    }
  }
}

/** `namespace/name` for logs; a pod created from a template has only a generateName yet. */
function podName(ns: string, pod: V1Pod): string {
  return `${ns}/${pod.metadata?.name ?? pod.metadata?.generateName ?? '?'}`
}

/** The pod under admission and its namespace, if the request really carries them. */
function podOf(r: ReviewRequest): { pod: V1Pod; ns: string } | undefined {
  const pod = r.object
  if (!pod || typeof pod !== 'object' || typeof pod.spec !== 'object' || pod.spec === null)
    return undefined
  const ns = r.namespace ?? pod.metadata?.namespace
  return ns && NAME.test(ns) ? { pod, ns } : undefined
}

async function planFor(pod: V1Pod, ns: string, deps: Deps): Promise<InjectionDecision> {
  const saName = pod.spec?.serviceAccountName || 'default'
  const [namespace, sa] = await Promise.all([
    deps.lookups.namespace(ns),
    NAME.test(saName) ? deps.lookups.serviceAccount(ns, saName) : undefined,
  ])
  return planInjection(pod, namespace ?? { metadata: { name: ns } }, sa, deps.config())
}

function answer(uid: string, pod: V1Pod, decision: InjectionDecision, log: Logger): Result {
  if (decision.kind === 'skip') {
    log.debug('skipped', { reason: decision.reason })
    return { out: respond({ uid, allowed: true }), outcome: 'skip' }
  }
  if (decision.kind === 'deny') {
    log.info('denied', { reason: decision.message })
    return { out: refuse(uid, 403, 'Forbidden', decision.message), outcome: 'deny' }
  }
  const ops = buildPatch(pod, decision.plan)
  log.info('injected', {
    role: decision.plan.role,
    operations: ops.length,
    warnings: decision.warnings.length,
  })
  const warnings = decision.warnings.map((w) => `iam-sidecar: ${w}`.slice(0, MAX_WARNING))
  const patch = Buffer.from(JSON.stringify(ops)).toString('base64')
  return {
    out: respond({
      uid,
      allowed: true,
      patchType: 'JSONPatch',
      patch,
      ...(warnings.length > 0 ? { warnings } : {}),
    }),
    outcome: 'inject',
  }
}
