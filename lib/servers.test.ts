import { it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { Registry } from 'prom-client'
import { serveMetrics } from './metrics-server.ts'
import { closeServer, listen } from './servers.ts'

it('rejects when the port is taken, and leaves a later server error to be seen', async () => {
  const first = createServer()
  await listen(first, 0, '127.0.0.1')
  const port = (first.address() as { port: number }).port
  try {
    await assert.rejects(listen(createServer(), port, '127.0.0.1'), /EADDRINUSE/)
    // No start-up listener is left behind: an error after listening has no one to swallow it.
    assert.equal(first.listenerCount('error'), 0)
    assert.throws(() => first.emit('error', new Error('later')), /later/)
  } finally {
    await closeServer(first)
  }
})

it('the metrics server listens through the same helper', async () => {
  const registry = { metrics: async () => '', contentType: 'text/plain' } as unknown as Registry
  const server = await serveMetrics(registry, 0, '127.0.0.1')
  try {
    assert.equal(server.listenerCount('error'), 0)
  } finally {
    await closeServer(server)
  }
})
