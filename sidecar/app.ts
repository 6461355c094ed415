// The sidecar's HTTP surface: GET /v1/credentials (the container-credentials contract),
// /healthz and /readyz. Every error is JSON {code, message} via one onError.
import { Hono } from 'hono'
import type { Context } from 'hono'
import type { HttpBindings } from '@hono/node-server'
import {
  HttpError,
  badRequest,
  forbidden,
  toErrorResponse,
  unauthorized,
  unavailable,
} from '../lib/errors.ts'
import type { Logger } from '../lib/log.ts'
import type { CredentialCache, Snapshot } from './credential-cache.ts'

export const CREDENTIALS_PATH = '/v1/credentials'

export interface SidecarAppOptions {
  readonly cache: CredentialCache
  /** Constant-time check of the presented Authorization value against the pod secret. */
  readonly checkSecret: (presented: string | undefined) => boolean
  /** The only Host header accepted: `127.0.0.1:<port>`. */
  readonly expectedHost: string
  readonly coldWaitMs: number
  readonly log: Logger
}

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-store' }

export function createSidecarApp(o: SidecarAppOptions): Hono {
  const app = new Hono({ strict: true })

  app.get(CREDENTIALS_PATH, function credentials(c: Context): Response | Promise<Response> {
    checkHost(c, o.expectedHost)
    const auth = header(c, 'authorization')
    if (auth === undefined || auth === '') {
      throw unauthorized(
        'MissingAuthorization',
        'the Authorization header must carry the pod secret from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
      )
    }
    if (!o.checkSecret(auth))
      throw unauthorized(
        'InvalidAuthorization',
        'the Authorization value does not match the pod secret',
      )
    const snap = o.cache.snapshot()
    // The hot path stays synchronous: no promise, no microtask, while credentials are warm.
    if (snap.kind === 'ok') return c.body(snap.body, 200, JSON_HEADERS)
    // Only while nothing valid is cached may a request wait, briefly, for the fetch in flight.
    if (o.cache.fetching)
      return o.cache.settled(o.coldWaitMs).then(() => answer(c, o.cache.snapshot()))
    return answer(c, snap)
  })

  addHealthRoutes(app, o.cache)

  for (const path of [CREDENTIALS_PATH, '/healthz', '/readyz']) {
    app.all(path, (c) => {
      c.header('allow', 'GET, HEAD')
      throw new HttpError(
        405,
        'MethodNotAllowed',
        `${c.req.method} is not allowed on ${path}; use GET`,
      )
    })
  }
  const respond = (c: Context, err: unknown): Response => {
    const { status, body } = toErrorResponse(err)
    if (status >= 500 && status !== 503) o.log.error('request failed', { error: err })
    else o.log.debug('request refused', { status, code: body.code })
    return c.body(JSON.stringify(body), status as 400, JSON_HEADERS)
  }
  app.notFound((c) =>
    respond(
      c,
      new HttpError(
        404,
        'NotFound',
        `no such path; the credentials endpoint is ${CREDENTIALS_PATH}`,
      ),
    ),
  )
  app.onError((err, c) => respond(c, err))
  return app
}

function answer(c: Context, snap: Snapshot): Response {
  if (snap.kind === 'ok') return c.body(snap.body, 200, JSON_HEADERS)
  if (snap.kind === 'denied') throw forbidden(snap.code, snap.message)
  throw unavailable(snap.code, snap.message)
}

function addHealthRoutes(app: Hono, cache: CredentialCache): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', (c) =>
    cache.ready
      ? c.json({ status: 'ready' })
      : c.json({ code: 'CredentialsNotReady', message: 'no credentials obtained yet' }, 503),
  )
}

/**
 * Health routes only, for the kubelet's probes. The kubelet probes the pod IP from the node, and
 * the credentials port is bound to 127.0.0.1, so probes get a listener of their own that serves
 * nothing but /healthz and /readyz (no credentials, no secret).
 */
export function createHealthApp(cache: CredentialCache): Hono {
  const app = new Hono({ strict: true })
  addHealthRoutes(app, cache)
  app.notFound((c) =>
    c.json({ code: 'NotFound', message: 'only /healthz and /readyz are served here' }, 404),
  )
  return app
}

/**
 * Only `127.0.0.1:<port>` is accepted: a browser tricked by DNS rebinding, or an SSRF through
 * another service, sends some other Host.
 */
function checkHost(c: Context, expected: string): void {
  const host = header(c, 'host')
  if (host === undefined || host === '')
    throw badRequest('MissingHost', 'a Host header is required')
  // Node keeps the first of several Host headers and drops the rest; RFC 9112 §3.2 says 400.
  if (hostHeaders(c) > 1) throw badRequest('DuplicateHost', 'exactly one Host header is allowed')
  if (host !== expected) throw forbidden('InvalidHost', `the Host header must be ${expected}`)
}

function hostHeaders(c: Context): number {
  const raw = (c.env as Partial<HttpBindings> | undefined)?.incoming?.rawHeaders
  if (!raw) return 1
  let n = 0
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') n++
  return n
}

/**
 * A request header, read from Node's IncomingMessage when the app runs on @hono/node-server:
 * `c.req.header()` would build a full fetch Headers object on every request, which costs the
 * hot path about a third of its throughput. In-process tests (app.request) have no bindings.
 */
function header(c: Context, name: 'host' | 'authorization'): string | undefined {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming
  return incoming ? incoming.headers[name] : c.req.header(name)
}
