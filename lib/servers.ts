// Listening and closing for every HTTP(S) server of the three programs.
import type { Server as HttpServer } from 'node:http'
import type { Server } from 'node:https'

/**
 * Resolves once the server listens, rejects if it cannot (port taken, say). The start-up `error`
 * listener is removed once listening: left attached, it would swallow every later server error
 * silently, where without a listener the error reaches the process and is seen.
 */
export function listen(server: Server | HttpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
}

/**
 * Stops accepting and resolves once every connection is closed. server.close() ends idle
 * keep-alive connections (Node ≥ 19); busy ones may finish their request for `graceMs`, after
 * which what is still open is cut. 0 (tests, and after a drain) cuts them at once.
 */
export function closeServer(server: Server | HttpServer, graceMs = 0): Promise<void> {
  return new Promise((resolve) => {
    const cut = setTimeout(() => server.closeAllConnections(), graceMs)
    cut.unref()
    server.close(() => {
      clearTimeout(cut)
      resolve()
    })
    server.closeIdleConnections()
  })
}
