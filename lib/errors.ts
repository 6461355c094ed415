// Errors that carry their HTTP status and a stable machine-readable code. One place per program
// (its app's onError) turns them into the JSON `{code, message}` body every SDK understands.
// Messages must never contain a secret: they reach response bodies, logs and Events.

export interface HttpErrorOptions extends ErrorOptions {
  readonly retryAfterSeconds?: number
}

export class HttpError extends Error {
  override name = 'HttpError'
  readonly status: number
  readonly code: string
  /** For a 503 or 429: when to try again (the Retry-After header), if the server knows. */
  readonly retryAfterSeconds: number | undefined
  constructor(status: number, code: string, message: string, options?: HttpErrorOptions) {
    super(message, options)
    this.status = status
    this.code = code
    this.retryAfterSeconds = options?.retryAfterSeconds
  }
}

/** 400: the request itself is malformed. */
export const badRequest = (code: string, message: string): HttpError =>
  new HttpError(400, code, message)
/** 401: missing or invalid credentials of the caller. */
export const unauthorized = (code: string, message: string): HttpError =>
  new HttpError(401, code, message)
/** 403: authenticated but not allowed; permanent until someone changes configuration. */
export const forbidden = (code: string, message: string): HttpError =>
  new HttpError(403, code, message)
/** 503: transient; the caller should retry. */
export const unavailable = (code: string, message: string, options?: HttpErrorOptions): HttpError =>
  new HttpError(503, code, message, options)

export interface ErrorBody {
  readonly code: string
  readonly message: string
}

/**
 * Maps any thrown value to a status, body and extra headers (Retry-After when the error knows
 * when to retry); unknown errors become a generic 500.
 */
export function toErrorResponse(err: unknown): {
  status: number
  body: ErrorBody
  headers: Record<string, string>
} {
  if (err instanceof HttpError) {
    const headers: Record<string, string> =
      err.retryAfterSeconds === undefined
        ? {}
        : { 'retry-after': String(Math.max(0, Math.ceil(err.retryAfterSeconds))) }
    return { status: err.status, body: { code: err.code, message: err.message }, headers }
  }
  return { status: 500, body: { code: 'InternalError', message: 'internal error' }, headers: {} }
}
