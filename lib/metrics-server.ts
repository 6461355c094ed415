// Serves a prom-client registry at GET /metrics on its own port, apart from the API ports.
import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import { listen } from './servers.ts'

export function serveMetrics(registry: Registry, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"code":"NotFound","message":"metrics are at /metrics"}')
      return
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    )
  })
  return listen(server, port, host).then(() => server)
}
