// Errors that carry their HTTP status and a stable machine-readable code. One place per program
// (its app's onError) turns them into the JSON `{code, message}` body every SDK understands.
// Messages must never contain a secret: they reach response bodies, logs and Events.

export class HttpError extends Error {
  override name = 'HttpError'
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.status = status
    this.code = code
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
export const unavailable = (code: string, message: string, options?: ErrorOptions): HttpError =>
  new HttpError(503, code, message, options)

export interface ErrorBody {
  readonly code: string
  readonly message: string
}

/** Maps any thrown value to a status and body; unknown errors become a generic 500. */
export function toErrorResponse(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof HttpError)
    return { status: err.status, body: { code: err.code, message: err.message } }
  return { status: 500, body: { code: 'InternalError', message: 'internal error' } }
}
