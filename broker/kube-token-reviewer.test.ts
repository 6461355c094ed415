// KubeTokenReviewer against a hand-written fake API server (FakeApiServer below) that holds every
// TokenReview until told to answer: the queue in front of the API server is bounded.
import { after, before, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type ServerResponse } from 'node:http'
import { KubeConfig } from '@kubernetes/client-node'
import { HttpError } from '../lib/errors.ts'
import {
  KubeTokenReviewer,
  MAX_CONCURRENT_REVIEWS,
  MAX_WAITING_REVIEWS,
  type ReviewCallOutcome,
} from './kube-token-reviewer.ts'

/** Fake API server: answers TokenReviews as authenticated for pod p, only once released. */
class FakeApiServer {
  readonly held: ServerResponse[] = []
  readonly server = createServer((req, res) => {
    req.resume()
    req.on('end', () => this.held.push(res))
  })
  release(): void {
    for (const res of this.held.splice(0)) {
      res.setHeader('content-type', 'application/json')
      res.end(
        JSON.stringify({
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          status: {
            authenticated: true,
            audiences: ['iam-sidecar'],
            user: {
              username: 'system:serviceaccount:n:app',
              extra: {
                'authentication.kubernetes.io/pod-name': ['p'],
                'authentication.kubernetes.io/pod-uid': ['u'],
              },
            },
          },
        }),
      )
    }
  }
}

const api = new FakeApiServer()
let kc: KubeConfig
before(async () => {
  await new Promise<void>((r) => api.server.listen(0, '127.0.0.1', r))
  const { port } = api.server.address() as { port: number }
  kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'broker', token: 'fake-broker-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'broker' }],
    currentContext: 'fake',
  })
})
after(() => {
  api.server.closeAllConnections()
  api.server.close()
})

it(`holds ${MAX_CONCURRENT_REVIEWS} reviews in flight and ${MAX_WAITING_REVIEWS} waiting; past that, 503 TokenReviewBusy at once`, async () => {
  const outcomes: ReviewCallOutcome[] = []
  const reviewer = new KubeTokenReviewer(kc, 'iam-sidecar', (o) => outcomes.push(o))
  const queued = Array.from({ length: MAX_CONCURRENT_REVIEWS + MAX_WAITING_REVIEWS }, (_, i) =>
    reviewer.review(`token-${i}`),
  )
  const deadline = Date.now() + 10_000
  while (api.held.length < MAX_CONCURRENT_REVIEWS && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10))
  assert.equal(api.held.length, MAX_CONCURRENT_REVIEWS, 'the API server sees only the limit')
  const t0 = performance.now()
  await assert.rejects(reviewer.review('one-too-many'), (err: unknown) => {
    assert.ok(err instanceof HttpError)
    assert.equal(err.status, 503)
    assert.equal(err.code, 'TokenReviewBusy')
    assert.equal(err.retryAfterSeconds, 1)
    assert.match(err.message, /64 TokenReviews in flight and 1024 waiting; retry shortly/)
    return true
  })
  assert.ok(performance.now() - t0 < 100, 'refused without waiting')
  assert.deepEqual(outcomes, ['busy'])
  // Everyone in the queue is served once the API server answers.
  const served = (async () => {
    while (outcomes.length < queued.length + 1) {
      api.release()
      await new Promise((r) => setTimeout(r, 5))
    }
  })()
  const pods = await Promise.all(queued)
  await served
  assert.equal(pods.length, queued.length)
  assert.ok(pods.every((p) => p.podName === 'p'))
  assert.equal(outcomes.filter((o) => o === 'ok').length, queued.length)
})
