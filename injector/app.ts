// The injector's HTTP surface: POST /mutate (AdmissionReview v1), /healthz, /readyz. Errors are
// JSON {code, message} via one onError; bodies are limited in size and must be JSON.
import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { HttpError, badRequest, toErrorResponse } from '../lib/errors.ts'
import type { Logger } from '../lib/log.ts'
import type { InjectionConfig } from './plan-injection.ts'
import { parseReview, review, type Lookups, type Outcome } from './admission.ts'
import type { InjectorMetrics } from './metrics.ts'

/** The API server caps objects near 1.5 MiB; a review carries at most the object and its old version. */
export const MAX_REVIEW_BYTES = 3 * 1024 * 1024
const JSON_HEADERS = { 'content-type': 'application/json' }

export interface InjectorAppOptions {
  readonly lookups: Lookups
  readonly config: () => InjectionConfig
  readonly ready: () => boolean
  readonly metrics: InjectorMetrics
  readonly log: Logger
}

export function createInjectorApp(o: InjectorAppOptions): Hono {
  const app = new Hono({ strict: true })
  app.post(
    '/mutate',
    bodyLimit({
      maxSize: MAX_REVIEW_BYTES,
      onError: () => {
        throw new HttpError(
          413,
          'TooLarge',
          `AdmissionReview bodies are limited to ${MAX_REVIEW_BYTES} bytes`,
        )
      },
    }),
    async function mutate(c) {
      const started = performance.now()
      let outcome: Outcome = 'error'
      try {
        if (!(c.req.header('content-type') ?? '').startsWith('application/json')) {
          throw new HttpError(
            415,
            'UnsupportedMediaType',
            'send the AdmissionReview as application/json',
          )
        }
        const body = await c.req.json().catch(() => {
          throw badRequest('InvalidJson', 'the body is not valid JSON')
        })
        const result = await review(parseReview(body), {
          lookups: o.lookups,
          config: o.config,
          log: o.log,
        })
        outcome = result.outcome
        return c.body(JSON.stringify(result.out), 200, JSON_HEADERS)
      } finally {
        o.metrics.reviews.inc({ outcome })
        o.metrics.reviewSeconds.observe((performance.now() - started) / 1000)
      }
    },
  )
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', (c) =>
    o.ready()
      ? c.json({ status: 'ready' })
      : c.json({ code: 'NotReady', message: 'informers not synced yet' }, 503),
  )
  for (const path of ['/mutate', '/healthz', '/readyz']) {
    app.all(path, () => {
      throw new HttpError(405, 'MethodNotAllowed', `wrong method for ${path}`)
    })
  }
  const respond = (c: Context, err: unknown): Response => {
    const { status, body } = toErrorResponse(err)
    if (status === 500) o.log.error('request failed', { error: err as Error })
    return c.body(JSON.stringify(body), status as 400, JSON_HEADERS)
  }
  app.notFound((c) => respond(c, new HttpError(404, 'NotFound', 'the webhook is at POST /mutate')))
  app.onError((err, c) => respond(c, err))
  return app
}
