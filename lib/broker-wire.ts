// The wire contract between sidecar (client) and broker (server). Shared so both sides agree
// by construction.
//
//   GET <broker-url>/v1/credentials
//   Authorization: Bearer <the pod's projected ServiceAccount token (audience iam-sidecar)>
//
//   200  application/json  ContainerCredentialsBody (lib/credentials.ts): the pod's role session
//   401  {code, message}   the token is missing, invalid, expired or not pod-bound
//   403  {code, message}   the pod may not have the role (permanent until configuration changes)
//   429, 5xx {code, message}  transient: retry with backoff
//
// A response status decides what the sidecar does; a body that is not valid JSON with the
// expected fields is treated as a transient upstream failure.

export const BROKER_CREDENTIALS_PATH = '/v1/credentials'

/** Default token audience: the broker reviews tokens with exactly this audience. */
export const DEFAULT_TOKEN_AUDIENCE = 'iam-sidecar'

export type BrokerOutcome = 'ok' | 'unauthenticated' | 'denied' | 'transient'

export function classifyBrokerStatus(status: number): BrokerOutcome {
  if (status === 200) return 'ok'
  if (status === 401) return 'unauthenticated'
  if (status === 403) return 'denied'
  return 'transient'
}
