// Binds the sidecar app to 127.0.0.1 with limits that keep a misbehaving client in the pod from
// exhausting the sidecar: small headers, short timeouts, a cap on open connections.
import { createServer, type Server } from 'node:http'
import { getRequestListener } from '@hono/node-server'
import type { Hono } from 'hono'
import { listen } from '../lib/servers.ts'

export const MAX_HEADER_BYTES = 8 * 1024
export const MAX_CONNECTIONS = 512

export function serveApp(app: Hono, port: number, host: string): Promise<Server> {
  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: 5_000,
      requestTimeout: 10_000,
      keepAliveTimeout: 5_000,
      requireHostHeader: true,
    },
    getRequestListener(app.fetch),
  )
  server.maxConnections = MAX_CONNECTIONS
  server.maxRequestsPerSocket = 0
  return listen(server, port, host).then(() => server)
}
