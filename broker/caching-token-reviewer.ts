// Caches successful TokenReviews by the token's SHA-256 (never the token itself) for at most
// 60 s and never past the token's own expiry. While the API server is unreachable, a token that
// was reviewed before and has not expired is still accepted ("stale if error"), so pods the
// broker already authorised keep their credentials; every other failure is passed on.
// Concurrent reviews of one token share one call, and a token reviewed before is marked known
// (ReviewOptions) so that it goes ahead of never-seen tokens in the TokenReview queue.
import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { Clock } from '../lib/clock.ts'
import { HttpError } from '../lib/errors.ts'
import type { ReviewedPod, TokenReviewer } from './token-review.ts'
import { tokenExpiry } from './token-precheck.ts'

export const MAX_REVIEW_TTL_MS = 60_000

interface Entry {
  readonly pod: ReviewedPod
  readonly freshUntil: number
  readonly tokenExpiresAt: number
}

export class CachingTokenReviewer implements TokenReviewer {
  readonly #inner: TokenReviewer
  readonly #clock: Clock
  readonly #ttlMs: number
  readonly #cache: LRUCache<string, Entry>
  readonly #inFlight = new Map<string, Promise<ReviewedPod>>()
  constructor(o: { inner: TokenReviewer; clock: Clock; ttlMs: number; max: number }) {
    this.#inner = o.inner
    this.#clock = o.clock
    this.#ttlMs = Math.min(o.ttlMs, MAX_REVIEW_TTL_MS)
    this.#cache = new LRUCache({ max: o.max })
  }

  async review(token: string): Promise<ReviewedPod> {
    const key = createHash('sha256').update(token).digest('hex')
    const now = this.#clock.now()
    const hit = this.#cache.get(key)
    if (hit && now < hit.freshUntil) return hit.pod
    try {
      const known = hit !== undefined && now < hit.tokenExpiresAt
      const pod = await this.#reviewOnce(key, token, known)
      const exp = tokenExpiry(token)
      if (exp !== undefined && exp > now) {
        this.#cache.set(key, {
          pod,
          freshUntil: Math.min(now + this.#ttlMs, exp),
          tokenExpiresAt: exp,
        })
      }
      return pod
    } catch (err) {
      const transient = err instanceof HttpError && err.status === 503
      if (transient && hit && now < hit.tokenExpiresAt) return hit.pod
      if (!transient) this.#cache.delete(key)
      throw err
    }
  }

  /** One call to the inner reviewer per token at a time; later callers share its answer. */
  #reviewOnce(key: string, token: string, known: boolean): Promise<ReviewedPod> {
    let call = this.#inFlight.get(key)
    if (!call) {
      call = this.#inner.review(token, { known }).finally(() => this.#inFlight.delete(key))
      this.#inFlight.set(key, call)
    }
    return call
  }
}
