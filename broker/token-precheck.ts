// Pure: refuses a bearer token that cannot pass TokenReview, before the broker spends a
// TokenReview (and a place in its queue) on it. Nothing here verifies a signature: a token that
// passes is only "not cheaply wrong"; the API server still decides. So every check must be one
// the API server would fail too, with room for clock skew, never one it might pass.
// Also the one JWT decoder of the broker (the review cache reads `exp` through it).
import { unauthorized, type HttpError } from '../lib/errors.ts'

/** Longest bearer token read at all. A projected ServiceAccount token is 1–3 KB. */
export const MAX_TOKEN_LENGTH = 16 * 1024

/**
 * How far past `exp` (and before `nbf`) a token is still sent to TokenReview: the API server
 * itself allows a minute of leeway, and its clock and ours may differ by another.
 */
export const CLOCK_SKEW_MS = 120_000

/** The refusal codes of the pre-check; each is a 401 whose message says what is wrong. */
export type PrecheckCode =
  | 'TokenTooLarge'
  | 'TokenNotJwt'
  | 'TokenMalformed'
  | 'TokenUnsigned'
  | 'TokenWithoutExpiry'
  | 'TokenExpired'
  | 'TokenNotYetValid'
  | 'WrongAudience'

export interface PrecheckRefusal extends HttpError {
  readonly code: PrecheckCode
}

export type JsonObject = Readonly<Record<string, unknown>>

export type DecodedJwt =
  | { readonly ok: true; readonly header: JsonObject; readonly claims: JsonObject }
  | { readonly ok: false; readonly refusal: PrecheckRefusal }

const SEGMENT = /^[A-Za-z0-9_-]+$/
const SHAPE =
  'a projected ServiceAccount token is a JWT: three base64url segments separated by dots'

/**
 * The JWT's header and claims, decoded and parsed but not verified; or why it is not a JWT.
 * Messages say what is wrong and never contain any part of the token.
 */
export function decodeJwt(token: string): DecodedJwt {
  if (token.length > MAX_TOKEN_LENGTH) {
    return refuse(
      'TokenTooLarge',
      `the bearer token is ${token.length} characters; at most ${MAX_TOKEN_LENGTH} are accepted (${SHAPE}, about 1-3 KB)`,
    )
  }
  const parts = token.split('.')
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) {
    const found =
      parts.length === 3
        ? 'has an empty or non-base64url segment'
        : `has ${parts.length} segment(s)`
    return refuse('TokenNotJwt', `the bearer token is not a JWT: it ${found}; ${SHAPE}`)
  }
  const header = jsonObject(parts[0]!)
  const claims = jsonObject(parts[1]!)
  if (!header || !claims) {
    const which = !header ? 'header' : 'payload'
    return refuse(
      'TokenMalformed',
      `the bearer token's ${which} is not a base64url-encoded JSON object; ${SHAPE}`,
    )
  }
  return { ok: true, header, claims }
}

/**
 * The `exp` claim in epoch ms, read without verifying the signature (it only bounds how long a
 * review that the API server already verified may be reused); undefined if there is none.
 */
export function tokenExpiry(token: string): number | undefined {
  const d = decodeJwt(token)
  return d.ok ? numericDate(d.claims.exp) : undefined
}

/** The refusal of a token that TokenReview would refuse anyway, or undefined to go on and ask. */
export function precheckToken(
  token: string,
  o: { readonly audience: string; readonly now: number },
): PrecheckRefusal | undefined {
  const d = decodeJwt(token)
  if (!d.ok) return d.refusal
  const { header, claims } = d
  if (typeof header.alg !== 'string' || header.alg === 'none') {
    return refusal(
      'TokenUnsigned',
      "the token's header names no signing algorithm (alg); the API server signs every ServiceAccount token",
    )
  }
  const exp = numericDate(claims.exp)
  if (exp === undefined) {
    return refusal(
      'TokenWithoutExpiry',
      'the token has no numeric exp claim; mount a projected ServiceAccount token (the injector does this), not a legacy Secret token',
    )
  }
  if (exp + CLOCK_SKEW_MS <= o.now) {
    return refusal(
      'TokenExpired',
      `the token expired at ${iso(exp)}, ${Math.round((o.now - exp) / 1000)} s ago; the kubelet refreshes projected tokens, so the sidecar must re-read its token file`,
    )
  }
  const nbf = claims.nbf === undefined ? undefined : numericDate(claims.nbf)
  if (claims.nbf !== undefined && nbf === undefined) {
    return refusal('TokenMalformed', "the token's nbf claim is not a number")
  }
  if (nbf !== undefined && nbf - CLOCK_SKEW_MS > o.now) {
    return refusal(
      'TokenNotYetValid',
      `the token is not valid before ${iso(nbf)}, ${Math.round((nbf - o.now) / 1000)} s from now; is this node's clock right?`,
    )
  }
  if (!audiences(claims.aud).includes(o.audience)) {
    return refusal(
      'WrongAudience',
      `the token was not issued for the audience ${JSON.stringify(o.audience)}; the sidecar's token must be projected with it (the injector does this)`,
    )
  }
  return undefined
}

/** `aud` is a string or an array of strings (RFC 7519 §4.1.3); anything else holds none. */
function audiences(aud: unknown): readonly unknown[] {
  if (typeof aud === 'string') return [aud]
  return Array.isArray(aud) ? aud : []
}

function numericDate(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v * 1000 : undefined
}

function jsonObject(segment: string): JsonObject | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : undefined
  } catch {
    return undefined
  }
}

function iso(ms: number): string {
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? 'an impossible date' : d.toISOString()
}

function refusal(code: PrecheckCode, message: string): PrecheckRefusal {
  return unauthorized(code, message) as PrecheckRefusal
}

function refuse(code: PrecheckCode, message: string): DecodedJwt {
  return { ok: false, refusal: refusal(code, message) }
}
