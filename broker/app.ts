// The broker's HTTP surface: GET /v1/credentials (wire contract: lib/broker-wire.ts), /healthz,
// /readyz. Errors are JSON {code, message} via one onError; nothing secret is ever in a body.
import { Hono, type Context } from 'hono'
import { BROKER_CREDENTIALS_PATH } from '../lib/broker-wire.ts'
import { toBody, type Credentials } from '../lib/credentials.ts'
import { HttpError, toErrorResponse, unauthorized } from '../lib/errors.ts'
import type { Logger } from '../lib/log.ts'
import type { Readiness } from './broker-identity.ts'
import type { BrokerMetrics, RequestOutcome } from './metrics.ts'

export interface BrokerAppOptions {
  readonly issue: (token: string) => Promise<Credentials>
  /** Why the broker cannot serve yet, or that it can. */
  readonly readiness: () => Readiness
  readonly metrics: BrokerMetrics
  readonly log: Logger
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' }

export function createBrokerApp(o: BrokerAppOptions): Hono {
  const app = new Hono({ strict: true })
  app.get(BROKER_CREDENTIALS_PATH, async function credentials(c) {
    const started = performance.now()
    let outcome: RequestOutcome = 'error'
    try {
      const creds = await o.issue(bearer(c))
      outcome = 'ok'
      return c.body(JSON.stringify(toBody(creds)), 200, JSON_HEADERS)
    } catch (err) {
      outcome = outcomeOf(err)
      throw err
    } finally {
      o.metrics.requests.inc({ outcome })
      o.metrics.requestSeconds.observe({ outcome }, (performance.now() - started) / 1000)
    }
  })
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', (c) => {
    const r = o.readiness()
    return r.ready ? c.json({ status: 'ready' }) : c.json({ code: r.code, message: r.message }, 503)
  })
  for (const path of [BROKER_CREDENTIALS_PATH, '/healthz', '/readyz']) {
    app.all(path, () => {
      throw new HttpError(405, 'MethodNotAllowed', `use GET on ${path}`)
    })
  }
  const respond = (c: Context, err: unknown): Response => {
    const { status, body, headers } = toErrorResponse(err)
    if (status === 500) o.log.error('request failed', { error: err as Error })
    return c.body(JSON.stringify(body), status as 400, { ...JSON_HEADERS, ...headers })
  }
  app.notFound((c) =>
    respond(
      c,
      new HttpError(404, 'NotFound', `no such path; credentials are at ${BROKER_CREDENTIALS_PATH}`),
    ),
  )
  app.onError((err, c) => respond(c, err))
  return app
}

/** The bearer token as sent; its size and shape are the pre-check's (token-precheck.ts). */
function bearer(c: Context): string {
  const h = c.req.header('authorization')
  const m = h === undefined ? null : /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(h)
  if (!m) {
    throw unauthorized(
      'MissingToken',
      'send the pod\'s projected ServiceAccount token as "Authorization: Bearer <token>"',
    )
  }
  return m[1]!
}

function outcomeOf(err: unknown): RequestOutcome {
  const status = err instanceof HttpError ? err.status : 500
  if (status === 401) return 'unauthenticated'
  if (status === 403) return 'denied'
  if (status === 503) return 'unavailable'
  return 'error'
}
