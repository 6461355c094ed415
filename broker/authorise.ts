// Authorisation, as a pure function: the reviewed token, the live pod, its namespace and
// ServiceAccount, and the broker's configuration → the AssumeRole call to make, or a denial that
// says what to do. No I/O here; issue-credentials.ts does the fetching.
import type { V1Namespace, V1Pod, V1ServiceAccount } from '@kubernetes/client-node'
import { EXTERNAL_ID, INJECTED_LABEL, LEGACY_EXTERNAL_ID, ROLE } from '../lib/annotations.ts'
import { forbidden, unauthorized, type HttpError } from '../lib/errors.ts'
import { quote, resolveRole, roleAnnotation, type RoleArn } from '../lib/role.ts'
import { checkPolicy, type PolicyOptions } from '../lib/policy.ts'
import { hasSidecarContainer, unsafePodShape } from '../lib/pod-shape.ts'
import { POD_LAYOUT } from '../lib/sidecar-pod-layout.ts'
import { sessionName, sourceIdentity } from './session-name.ts'
import type { AssumeRoleInput, SessionTag } from './sts.ts'
import type { ReviewedPod } from './token-review.ts'

export interface AuthoriseConfig {
  readonly mode: 'cluster' | 'node'
  /** This broker's node in node mode. */
  readonly nodeName: string | undefined
  readonly policy: PolicyOptions
  readonly baseRoleArn: string | undefined
  readonly clusterName: string
  readonly sessionTags: boolean
  readonly sourceIdentity: boolean
  readonly sessionDurationSeconds: number
}

export interface AuthoriseInput {
  readonly reviewed: ReviewedPod
  readonly pod: V1Pod | undefined
  readonly namespace: V1Namespace | undefined
  readonly serviceAccount: V1ServiceAccount | undefined
}

export interface Grant {
  readonly role: RoleArn
  readonly assume: AssumeRoleInput
}

export type Authorisation =
  { readonly ok: true; readonly grant: Grant } | { readonly ok: false; readonly error: HttpError }

const EXTERNAL_ID_RE = /^[\w+=,.@:/-]{2,1224}$/

const deny = (error: HttpError): Authorisation => ({ ok: false, error })

export function authorise(input: AuthoriseInput, cfg: AuthoriseConfig): Authorisation {
  const refused = checkPod(input, cfg)
  if (refused) return deny(refused)
  const { reviewed: r, pod } = input
  const who = `${r.namespace}/${r.podName}`
  const ann = roleAnnotation(pod!, input.serviceAccount)
  if (!ann) {
    return deny(
      forbidden(
        'NoRole',
        `pod ${who} names no role: set the ${ROLE} annotation on the pod or its ServiceAccount`,
      ),
    )
  }
  const resolved = resolveRole(ann.value, cfg.baseRoleArn)
  if (!resolved.ok)
    return deny(forbidden('InvalidRole', `${ann.source} of pod ${who}: ${resolved.reason}`))
  const verdict = checkPolicy(
    {
      namespace: r.namespace,
      annotations: input.namespace?.metadata?.annotations,
      role: { arn: resolved.role.arn, asWritten: ann.value.trim() },
      baseRoleArn: cfg.baseRoleArn,
    },
    cfg.policy,
  )
  if (!verdict.permitted) return deny(forbidden(verdict.code, verdict.reason))
  const externalId = externalIdOf(pod!)
  if (externalId instanceof Error)
    return deny(forbidden('InvalidExternalId', `pod ${who}: ${externalId.message}`))
  return {
    ok: true,
    grant: { role: resolved.role, assume: assumeInput(r, resolved.role, externalId, cfg) },
  }
}

/** ExternalId from our annotation, else kube2iam/kiam's; validated like STS does. */
function externalIdOf(pod: V1Pod): string | undefined | Error {
  const ann = pod.metadata?.annotations ?? {}
  const key = ann[EXTERNAL_ID] !== undefined ? EXTERNAL_ID : LEGACY_EXTERNAL_ID
  const value = ann[key]
  if (value === undefined || EXTERNAL_ID_RE.test(value)) return value
  return new Error(
    `the ${key} annotation must be 2–1224 characters of [\\w+=,.@:/-] (got ${quote(value, 40)})`,
  )
}

/** Node mode: like the kubelet's NodeRestriction, a broker serves only its own node's pods. */
function checkNode(r: ReviewedPod, cfg: AuthoriseConfig): HttpError | undefined {
  if (cfg.mode !== 'node' || r.nodeName === cfg.nodeName) return undefined
  return forbidden(
    'WrongNode',
    `this broker serves node ${cfg.nodeName ?? '?'} only; pod ${r.namespace}/${r.podName} runs on ${r.nodeName ?? 'an unknown node'} and must use the broker of its own node`,
  )
}

/** Is the caller the live, injected pod its token names, on the right node? In this order. */
function checkPod(
  { reviewed: r, pod }: AuthoriseInput,
  cfg: AuthoriseConfig,
): HttpError | undefined {
  const who = `${r.namespace}/${r.podName}`
  const wrongNode = checkNode(r, cfg)
  if (wrongNode) return wrongNode
  if (!pod) return unauthorized('PodNotFound', `pod ${who} does not exist (deleted?)`)
  if (pod.metadata?.uid !== r.podUid) {
    return unauthorized(
      'PodUidMismatch',
      `pod ${who} was replaced; the token belongs to an earlier pod of that name`,
    )
  }
  if ((pod.spec?.serviceAccountName ?? 'default') !== r.serviceAccount) {
    return forbidden(
      'ServiceAccountMismatch',
      `pod ${who} does not run as ServiceAccount ${r.serviceAccount}`,
    )
  }
  return checkInjectedShape(pod, who)
}

/**
 * The live pod looks injected and safe. Neither the label nor a container of our name proves the
 * injector admitted it (anyone may write both, and the webhook ignores its own failures), so the
 * rules that protect the sidecar's token are checked here again, on the pod as it runs.
 */
function checkInjectedShape(pod: V1Pod, who: string): HttpError | undefined {
  if (pod.metadata?.labels?.[INJECTED_LABEL] !== 'true' || !hasSidecarContainer(pod)) {
    return forbidden(
      'PodNotInjected',
      `pod ${who} was not admitted by the iam-sidecar injector (label ${INJECTED_LABEL} or container ${POD_LAYOUT.containerName} missing)`,
    )
  }
  const unsafe = unsafePodShape(pod)
  if (unsafe) return forbidden('UnsafePodShape', `pod ${who}: ${unsafe}`)
  return undefined
}

function assumeInput(
  r: ReviewedPod,
  role: RoleArn,
  externalId: string | undefined,
  cfg: AuthoriseConfig,
): AssumeRoleInput {
  return {
    roleArn: role.arn,
    sessionName: sessionName(r.namespace, r.podName, r.podUid),
    durationSeconds: cfg.sessionDurationSeconds,
    externalId,
    sourceIdentity: cfg.sourceIdentity ? sourceIdentity(r.namespace, r.serviceAccount) : undefined,
    tags: cfg.sessionTags ? sessionTags(r, cfg.clusterName) : [],
  }
}

const TAG_VALUE_OK = /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu

/** The session tags of DESIGN.md, cleaned to STS's character set and 256-character values. */
export function sessionTags(r: ReviewedPod, clusterName: string): SessionTag[] {
  const tag = (Key: string, v: string): SessionTag => ({
    Key,
    Value: v.replace(TAG_VALUE_OK, '_').slice(0, 256),
  })
  return [
    tag('kubernetes-namespace', r.namespace),
    tag('kubernetes-service-account', r.serviceAccount),
    tag('kubernetes-pod-name', r.podName),
    tag('kubernetes-pod-uid', r.podUid),
    tag('kubernetes-node-name', r.nodeName ?? ''),
    tag('cluster-name', clusterName),
  ]
}
