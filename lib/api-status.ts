// What a failed @kubernetes/client-node call says: the HTTP status and the API server's Status
// message. Only these reach our errors, never the exception itself, whose body and headers a
// log line would otherwise carry along.

export function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code
  return typeof code === 'number' ? code : undefined
}

/** The API server's Status message from a client-node ApiException, if it has one. */
export function statusMessage(err: unknown): string {
  const body = (err as { body?: unknown } | undefined)?.body
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown }
    if (typeof status?.message === 'string') return status.message
  } catch {
    // not a Status object: fall through to the client's own message
  }
  return err instanceof Error ? err.message.split('\n')[0]! : String(err)
}
