import { it } from 'node:test'
import assert from 'node:assert/strict'
import { HttpError } from '../lib/errors.ts'
import { podFromReview, type TokenReviewStatus } from './token-review.ts'

const status = (audiences: string[] | undefined): TokenReviewStatus => ({
  authenticated: true,
  audiences,
  user: {
    username: 'system:serviceaccount:team-a:app',
    extra: {
      'authentication.kubernetes.io/pod-name': ['web-1'],
      'authentication.kubernetes.io/pod-uid': ['0b2c'],
    },
  },
})

it('accepts a review whose status.audiences holds our audience', () => {
  const pod = podFromReview(status(['iam-sidecar']), 'iam-sidecar')
  assert.equal(pod.podName, 'web-1')
  assert.equal(pod.namespace, 'team-a')
})

it('refuses an authenticated review without our audience in status.audiences (401 WrongAudience)', () => {
  for (const audiences of [undefined, [], ['https://kubernetes.default.svc'], ['iam-sidecar-x']]) {
    assert.throws(
      () => podFromReview(status(audiences), 'iam-sidecar'),
      (err: unknown) =>
        err instanceof HttpError && err.status === 401 && err.code === 'WrongAudience',
      JSON.stringify(audiences),
    )
  }
})
