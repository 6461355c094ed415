// One credential request, end to end: authenticate the token, read the live objects, decide,
// then serve the role session from the cache or assume it. Denials and STS failures become
// HttpErrors (with their status) and Events on the pod.
import type { Credentials } from '../lib/credentials.ts'
import { forbidden, unavailable, type HttpError } from '../lib/errors.ts'
import type { Logger } from '../lib/log.ts'
import { authorise, type AuthoriseConfig } from './authorise.ts'
import { identityAdvice, type BrokerIdentityHealth } from './broker-identity.ts'
import type { EventSink, PodRef } from './events.ts'
import type { ObjectLookup } from '../lib/kube-objects.ts'
import { sessionKey, type SessionCache } from './session-cache.ts'
import { StsError, type AssumeRoleInput } from './sts.ts'
import type { TokenReviewer } from './token-review.ts'

export interface IssueDeps {
  readonly reviewer: TokenReviewer
  readonly objects: ObjectLookup
  readonly authoriseConfig: () => AuthoriseConfig
  readonly sessions: SessionCache
  readonly scope: 'pod' | 'shared'
  /** AssumeRole with rate limiting, retries and metrics around it. */
  readonly assume: (input: AssumeRoleInput) => Promise<Credentials>
  readonly events: EventSink
  readonly log: Logger
  /** Whose fault an STS failure is; told of every AssumeRole outcome. */
  readonly identity: Pick<BrokerIdentityHealth, 'attribute' | 'succeeded'>
}

export async function issueCredentials(token: string, d: IssueDeps): Promise<Credentials> {
  const reviewed = await d.reviewer.review(token)
  const [pod, namespace, serviceAccount] = await Promise.all([
    d.objects.pod(reviewed.namespace, reviewed.podName, reviewed.podUid),
    d.objects.namespace(reviewed.namespace),
    d.objects.serviceAccount(reviewed.namespace, reviewed.serviceAccount),
  ])
  const ref: PodRef = {
    namespace: reviewed.namespace,
    name: reviewed.podName,
    uid: reviewed.podUid,
  }
  const log = d.log.child({ pod: `${ref.namespace}/${ref.name}` })
  const decision = authorise({ reviewed, pod, namespace, serviceAccount }, d.authoriseConfig())
  if (!decision.ok) {
    log.warn('credentials denied', { code: decision.error.code, reason: decision.error.message })
    // No Event for a pod that is gone: there is nothing to attach it to.
    if (pod)
      d.events.podEvent(ref, {
        type: 'Warning',
        reason: `IamSidecar${decision.error.code}`,
        message: decision.error.message,
      })
    throw decision.error
  }
  const { role, assume } = decision.grant
  const key = sessionKey(d.scope, { ...reviewed, roleArn: role.arn })
  try {
    const creds = await d.sessions.get(key, async () => {
      const fresh = await d.assume(assume)
      d.identity.succeeded()
      return fresh
    })
    log.info('credentials issued', {
      roleArn: role.arn,
      sessionName: assume.sessionName,
      expiresAt: new Date(creds.expiresAt).toISOString(),
    })
    return creds
  } catch (err) {
    const attributed = err instanceof StsError ? d.identity.attribute(err, role.arn) : err
    const e = stsFailure(attributed, role.arn)
    log.warn('AssumeRole failed', { roleArn: role.arn, code: e.code, reason: e.message })
    d.events.podEvent(ref, { type: 'Warning', reason: `IamSidecar${e.code}`, message: e.message })
    throw e
  }
}

/**
 * An STS failure → what the sidecar should do: 403 for what is permanent for this pod (it then
 * stops serving the role), 503 to retry while keeping what it holds. A fault of the broker's own
 * identity is never this pod's: 503, with what the operator must fix.
 */
function stsFailure(err: unknown, roleArn: string): HttpError {
  if (err instanceof StsError && err.kind === 'identity') {
    return unavailable(
      'BrokerIdentityFault',
      `sts:AssumeRole of ${roleArn} failed because of the broker's own AWS identity (${err.code}), not this pod: ${identityAdvice(err.code)}. Credentials already served stay valid until they expire; retrying is safe`,
    )
  }
  if (err instanceof StsError && err.kind === 'denied') {
    return forbidden(
      'AssumeRoleDenied',
      `sts:AssumeRole of ${roleArn} was denied (${err.code}): the role's trust policy must trust the broker identity (and allow sts:TagSession/sts:SetSourceIdentity when those are on)`,
    )
  }
  if (err instanceof StsError && err.kind === 'invalid') {
    return forbidden(
      'AssumeRoleInvalid',
      `sts:AssumeRole of ${roleArn} was refused as invalid (${err.code}): ${err.message}`,
    )
  }
  const code = err instanceof StsError ? err.code : 'Error'
  return unavailable(
    'StsUnavailable',
    `sts:AssumeRole of ${roleArn} failed for now (${code}); retrying is safe`,
  )
}
