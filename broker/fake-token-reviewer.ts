// Fake TokenReviewer for unit tests: a map from token to pod, or an error to throw.
import { unauthorized } from '../lib/errors.ts'
import type { ReviewOptions, ReviewedPod, TokenReviewer } from './token-review.ts'

export class FakeTokenReviewer implements TokenReviewer {
  calls = 0
  /** The options of each call, in order. */
  readonly options: (ReviewOptions | undefined)[] = []
  /** When set, every review waits for it (to hold reviews in flight). */
  gate: Promise<void> | undefined
  readonly tokens = new Map<string, ReviewedPod | Error>()
  async review(token: string, o?: ReviewOptions): Promise<ReviewedPod> {
    this.calls++
    this.options.push(o)
    await this.gate
    const v = this.tokens.get(token)
    if (v === undefined)
      throw unauthorized('InvalidToken', 'the ServiceAccount token was rejected by TokenReview')
    if (v instanceof Error) throw v
    return v
  }
}
