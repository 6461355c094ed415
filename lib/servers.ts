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

export function closeServer(server: Server | HttpServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
