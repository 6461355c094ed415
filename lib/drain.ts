// Graceful shutdown for the injector's and the broker's servers. On SIGTERM the pod is already
// being taken out of its Service, but that takes a moment to reach every API server, kube-proxy
// and keep-alive client, so a server that stopped at once would refuse or cut requests that were
// still on their way (a failed admission, a failed credential fetch). Instead, for `delayMs` it
// keeps serving while readiness fails, then stops accepting, answers what is in flight with
// `Connection: close` so that keep-alive clients move to another replica, and ends the
// connections that are still open only after `graceMs`. The chart's terminationGracePeriodSeconds
// is larger than both together. The same sequence as kube-apiserver's --shutdown-delay-duration,
// done in the process so it needs no shell for a preStop hook in the distroless image.
import type { Server as HttpServer } from 'node:http'
import type { Server } from 'node:https'
import type { Logger } from './log.ts'
import { closeServer } from './servers.ts'

type AnyServer = Server | HttpServer

/** How long in-flight requests get once the server stops accepting (request timeouts are 30 s). */
export const DRAIN_GRACE_MS = 20_000

export class Drain {
  #draining = false
  readonly #servers: AnyServer[] = []

  /** Drains `server` too. */
  add(server: AnyServer): void {
    this.#servers.push(server)
    // Before the app's handler: every response from now on ends its connection.
    server.prependListener('request', (_req, res) => {
      if (this.#draining) res.setHeader('connection', 'close')
    })
  }

  /** True from SIGTERM on: readiness answers 503 so that the Service stops sending us work. */
  get draining(): boolean {
    return this.#draining
  }

  /** Resolves once every connection is closed (or `graceMs` passed and they were cut). */
  async drain(o: { delayMs: number; graceMs?: number; log: Logger }): Promise<void> {
    if (this.#draining) return
    this.#draining = true
    const graceMs = o.graceMs ?? DRAIN_GRACE_MS
    o.log.info('draining: readiness fails, still serving', { delayMs: o.delayMs })
    await sleep(o.delayMs)
    o.log.info('draining: no new connections; finishing requests in flight', { graceMs })
    await Promise.all(this.#servers.map((s) => closeServer(s, graceMs)))
    o.log.info('drained')
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
