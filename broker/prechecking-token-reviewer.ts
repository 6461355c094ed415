// Runs the pure pre-check (token-precheck.ts) in front of the review cache and TokenReview, so a
// token that is cheaply wrong (not a JWT, expired, for another audience) costs no TokenReview
// and no place in the TokenReview queue: a flood of them cannot crowd out real pods.
import type { Clock } from '../lib/clock.ts'
import { precheckToken, type PrecheckCode } from './token-precheck.ts'
import type { ReviewOptions, ReviewedPod, TokenReviewer } from './token-review.ts'

export class PrecheckingTokenReviewer implements TokenReviewer {
  readonly #inner: TokenReviewer
  readonly #clock: Clock
  readonly #audience: string
  readonly #onRefused: (code: PrecheckCode) => void
  constructor(o: {
    inner: TokenReviewer
    clock: Clock
    audience: string
    onRefused?: (code: PrecheckCode) => void
  }) {
    this.#inner = o.inner
    this.#clock = o.clock
    this.#audience = o.audience
    this.#onRefused = o.onRefused ?? (() => {})
  }

  async review(token: string, o?: ReviewOptions): Promise<ReviewedPod> {
    const refusal = precheckToken(token, { audience: this.#audience, now: this.#clock.now() })
    if (refusal) {
      this.#onRefused(refusal.code)
      throw refusal
    }
    return this.#inner.review(token, o)
  }
}
