// Fake TokenReviewer for unit tests: a map from token to pod, or an error to throw.
import { unauthorized } from '../lib/errors.ts'
import type { ReviewedPod, TokenReviewer } from './token-review.ts'

export class FakeTokenReviewer implements TokenReviewer {
  calls = 0
  readonly tokens = new Map<string, ReviewedPod | Error>()
  async review(token: string): Promise<ReviewedPod> {
    this.calls++
    const v = this.tokens.get(token)
    if (v === undefined)
      throw unauthorized('InvalidToken', 'the ServiceAccount token was rejected by TokenReview')
    if (v instanceof Error) throw v
    return v
  }
}
