// The webhook CA that every injector replica shares, as kept in its Secret, and the pure
// decisions about it: when to make one, when to rotate, what the caBundle holds, which CA signs
// a replica's serving certificate. No I/O here; ca-secret-store.ts reads and writes the Secret.
//
// Rotation, so that no replica is ever served by a CA the caBundle lacks:
//  1. In the last third of the current CA's life, a replica makes the next CA. The Secret keeps
//     the old one (with its key) as `previous`; the caBundle holds both.
//  2. Replicas keep signing from the old CA until the new one has been in the Secret (and so in
//     the caBundle) for one check interval, time enough for the API server to load the new
//     bundle; at their next check after that they move their serving certificate to the new CA.
//  3. The old CA leaves the Secret and the caBundle when it expires. A serving certificate never
//     outlives its CA, so no live replica can still depend on it by then.
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { CLOCK_SKEW_MS } from '../lib/self-signed.ts'

export interface StoredCa {
  readonly certPem: string
  /** PKCS#8 PEM. Never logged, never in an error. */
  readonly keyPem: string
  /** When it was made (ms since the epoch): its notBefore is back-dated by CLOCK_SKEW_MS. */
  readonly madeAt: number
  /** Its notAfter (ms since the epoch). */
  readonly notAfter: number
}

export interface CaState {
  readonly current: StoredCa
  /** The CA before the last rotation, until it expires. */
  readonly previous?: StoredCa
}

/** The Secret's keys. */
export const CA_SECRET_KEYS = {
  cert: 'ca.crt',
  key: 'ca.key',
  previousCert: 'previous-ca.crt',
  previousKey: 'previous-ca.key',
} as const

export interface CaPolicy {
  /** Lifetime of each CA made. */
  readonly validityMs: number
  /** How often each replica re-reads the Secret and the caBundle. */
  readonly checkIntervalMs: number
}

/** A new CA is made when less than this is left of the current one. */
export const rotateBeforeMs = (p: CaPolicy): number => Math.floor(p.validityMs / 3)

/**
 * Why a policy cannot keep every replica trusted, or undefined: after a rotation, replicas move
 * to the new CA one to two check intervals later, and that must happen well before the old CA
 * expires (a third of its lifetime after the rotation).
 */
export function policyProblem(p: CaPolicy): string | undefined {
  if (rotateBeforeMs(p) < 3 * p.checkIntervalMs)
    return 'the CA validity must be at least 9 times the check interval'
  return undefined
}

/** The certificate and key PEMs as a StoredCa, checked: a CA certificate and its own key. */
export function parseCa(certPem: string, keyPem: string, what: string): StoredCa {
  let cert: X509Certificate
  try {
    cert = new X509Certificate(certPem)
  } catch {
    throw new Error(`${what}: the certificate is not PEM X.509`)
  }
  if (!cert.ca) throw new Error(`${what}: the certificate is not a CA certificate`)
  let matches: boolean
  try {
    matches = cert.checkPrivateKey(createPrivateKey(keyPem))
  } catch {
    // The parser's message might quote the input: say only what is wrong.
    throw new Error(`${what}: the key is not a PEM private key`)
  }
  if (!matches) throw new Error(`${what}: the key does not belong to the certificate`)
  return {
    certPem: cert.toString().trim() + '\n',
    keyPem,
    madeAt: cert.validFromDate.getTime() + CLOCK_SKEW_MS,
    notAfter: cert.validToDate.getTime(),
  }
}

const fromB64 = (v: string | undefined): string | undefined =>
  v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8')

/**
 * The state in a Secret's `data` (base64 values, as the API returns them); undefined for a
 * Secret without data (made empty for us to fill). A Secret with other data is someone else's:
 * refused, never overwritten. Errors name the Secret and the key, never a value.
 */
export function decodeCaSecret(
  data: Readonly<Record<string, string>> | undefined,
  secretName: string,
): CaState | undefined {
  if (!data || Object.keys(data).length === 0) return undefined
  const K = CA_SECRET_KEYS
  const get = (key: string): string | undefined => fromB64(data[key])
  const cert = get(K.cert)
  const key = get(K.key)
  if (cert === undefined || key === undefined)
    throw new Error(
      `Secret ${secretName} holds no webhook CA (keys ${K.cert} and ${K.key}): it is not the ` +
        'injector’s; delete it or name another with --webhook-ca-secret',
    )
  const current = parseCa(cert, key, `Secret ${secretName} ${K.cert}/${K.key}`)
  const prevCert = get(K.previousCert)
  const prevKey = get(K.previousKey)
  if ((prevCert === undefined) !== (prevKey === undefined))
    throw new Error(`Secret ${secretName}: ${K.previousCert} and ${K.previousKey} come together`)
  if (prevCert === undefined || prevKey === undefined) return { current }
  const previous = parseCa(
    prevCert,
    prevKey,
    `Secret ${secretName} ${K.previousCert}/${K.previousKey}`,
  )
  return { current, previous }
}

/** The Secret's `data` (base64) for a state. */
export function encodeCaSecret(state: CaState): Record<string, string> {
  const b64 = (v: string): string => Buffer.from(v).toString('base64')
  const K = CA_SECRET_KEYS
  return {
    [K.cert]: b64(state.current.certPem),
    [K.key]: b64(state.current.keyPem),
    ...(state.previous
      ? {
          [K.previousCert]: b64(state.previous.certPem),
          [K.previousKey]: b64(state.previous.keyPem),
        }
      : {}),
  }
}

/** What a replica does with the Secret it read: create: there is no CA yet; rotate: the current
 * one is in its last third (or over); prune: the previous one expired; keep: nothing to write. */
export type CaDecision = 'create' | 'rotate' | 'prune' | 'keep'

export function decideCa(state: CaState | undefined, now: number, p: CaPolicy): CaDecision {
  if (!state) return 'create'
  if (state.current.notAfter - now <= rotateBeforeMs(p)) return 'rotate'
  if (state.previous && state.previous.notAfter <= now) return 'prune'
  return 'keep'
}

/** The state after a decision; `fresh` is the CA made for create and rotate. */
export function nextCaState(
  state: CaState | undefined,
  decision: CaDecision,
  fresh: StoredCa | undefined,
  now: number,
): CaState {
  if (decision === 'keep' || decision === 'prune') {
    if (!state) throw new Error(`cannot ${decision} without a CA`)
    return decision === 'keep' ? state : { current: state.current }
  }
  if (!fresh) throw new Error(`${decision} needs a new CA`)
  // An expired CA is no use to anyone (its serving certificates expired with it).
  const previous = decision === 'rotate' && state && state.current.notAfter > now
  return previous ? { current: fresh, previous: state.current } : { current: fresh }
}

/** The CA certificates the caBundle must hold: the current CA, and the previous one until it
 * expires. */
export function bundleOf(state: CaState, now: number): string[] {
  const { current, previous } = state
  return previous && previous.notAfter > now
    ? [current.certPem, previous.certPem]
    : [current.certPem]
}

/** The CA a replica signs its serving certificate with: the previous one for one check interval
 * after a rotation (the API server may not have the new caBundle yet), else the current one. */
export function signingCa(state: CaState, now: number, p: CaPolicy): StoredCa {
  const { current, previous } = state
  const fresh = now - current.madeAt < p.checkIntervalMs
  return previous && fresh && previous.notAfter > now ? previous : current
}

/** How long after the shared CA was made the CAs of older injector versions stay bundled. */
export const LEGACY_GRACE_MS = 3_600_000
// Injector versions before the shared CA made one CA per process, named like this.
const LEGACY_SUBJECT = /^CN=iam-sidecar-webhook-ca-\d+$/

/**
 * The CAs of older injector versions (one per replica) among those in the caBundle now, to keep
 * in it for LEGACY_GRACE_MS after the shared CA was made and before its first rotation: during
 * a rolling upgrade the old replicas serve from them until they are replaced. Unexpired only.
 */
export function legacyCasToKeep(
  state: CaState,
  now: number,
  inBundle: readonly string[],
): string[] {
  if (state.previous || now - state.current.madeAt >= LEGACY_GRACE_MS) return []
  const kept = new Set<string>()
  for (const pem of inBundle) {
    let cert: X509Certificate
    try {
      cert = new X509Certificate(pem)
    } catch {
      continue
    }
    if (LEGACY_SUBJECT.test(cert.subject) && cert.validToDate.getTime() > now)
      kept.add(cert.toString().trim() + '\n')
  }
  return [...kept].filter((pem) => pem !== state.current.certPem)
}
