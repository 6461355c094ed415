// CredentialSource backed by the broker (wire contract: lib/broker-wire.ts). HTTPS with the
// configured CA; the projected token and the CA file are re-read on every call because the
// kubelet rotates the one and updates the other (a ConfigMap or ClusterTrustBundle volume) when
// the broker's CA rotates. Calls are rare (one per refresh), so reading two small files is cheap.
import { readFile } from 'node:fs/promises'
import { createSecureContext } from 'node:tls'
import { Agent, request } from 'node:https'
import { BROKER_CREDENTIALS_PATH, classifyBrokerStatus } from '../lib/broker-wire.ts'
import { parseBody, type Credentials } from '../lib/credentials.ts'
import { UpstreamError, type CredentialSource } from './credential-source.ts'

const MAX_BODY_BYTES = 64 * 1024
const MAX_MESSAGE_CHARS = 512

export interface BrokerClientOptions {
  readonly brokerUrl: URL
  /** PEM bundle file; undefined uses the system trust store. */
  readonly caFile: string | undefined
  readonly tokenFile: string
  readonly timeoutMs: number
  /** Told when the CA file changed and is used from now on, or could not be used. */
  readonly onCa?: (event: { reloaded: true } | { reloaded: false; reason: string }) => void
}

export class BrokerClient implements CredentialSource {
  readonly #o: BrokerClientOptions
  readonly #url: URL
  #agent: Agent | undefined
  /** The CA bundle #agent trusts, as read from the file. */
  #ca: string | undefined
  constructor(o: BrokerClientOptions) {
    this.#o = o
    this.#url = new URL(BROKER_CREDENTIALS_PATH, o.brokerUrl)
  }

  async fetch(): Promise<Credentials> {
    await this.#trustCurrentCa()
    const token = await this.#readToken()
    const { status, body } = await this.#get(token)
    const outcome = classifyBrokerStatus(status)
    if (outcome === 'ok') {
      try {
        return parseBody(JSON.parse(body))
      } catch (err) {
        throw new UpstreamError(
          'transient',
          'BadBrokerResponse',
          `broker answered 200 with an invalid body: ${(err as Error).message}`,
        )
      }
    }
    const { code, message } = errorFields(body)
    throw new UpstreamError(
      outcome,
      code ?? `Broker${status}`,
      `broker answered ${status}${message ? `: ${message}` : ''}`,
    )
  }

  /**
   * A new agent when the CA file's content changed; its old keep-alive sockets are closed, so
   * the next call verifies the broker against the new bundle. An unreadable or broken file keeps
   * the bundle in use (a volume update swaps a symlink; a half-written file must not lock us out),
   * and fails the call only when there is none yet.
   */
  async #trustCurrentCa(): Promise<void> {
    const file = this.#o.caFile
    if (file === undefined) {
      this.#agent ??= newAgent(undefined)
      return
    }
    let ca: string
    try {
      ca = await readFile(file, 'utf8')
      if (ca === this.#ca) return
      createSecureContext({ ca }) // throws on a bundle that is not PEM certificates
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it')
    } catch (err) {
      const reason = `cannot use the broker CA file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`
      if (this.#agent === undefined)
        throw new UpstreamError('transient', 'BrokerCaUnreadable', reason)
      this.#o.onCa?.({ reloaded: false, reason: `${reason}; keeping the CA read before` })
      return
    }
    const first = this.#agent === undefined
    this.#agent?.destroy()
    this.#agent = newAgent(ca)
    this.#ca = ca
    if (!first) this.#o.onCa?.({ reloaded: true })
  }

  async #readToken(): Promise<string> {
    try {
      const token = (await readFile(this.#o.tokenFile, 'utf8')).trim()
      if (token === '') throw new Error('file is empty')
      return token
    } catch (err) {
      throw new UpstreamError(
        'transient',
        'TokenUnreadable',
        `cannot read the ServiceAccount token file ${this.#o.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      )
    }
  }

  /**
   * One GET; once more if a reused keep-alive socket was reset before any answer: the broker
   * closed it as idle (or while draining) just as we sent, so the request never reached it.
   */
  #get(token: string, retried = false): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => {
        const code = (err as NodeJS.ErrnoException).code
        if (!retried && req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE')) {
          this.#get(token, true).then(resolve, reject)
          return
        }
        reject(
          new UpstreamError(
            'transient',
            'BrokerUnreachable',
            `broker request failed: ${err.message}`,
          ),
        )
      }
      const req = request(
        this.#url,
        {
          method: 'GET',
          agent: this.#agent!,
          timeout: this.#o.timeoutMs,
          headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (c: Buffer) => {
            size += c.length
            if (size > MAX_BODY_BYTES)
              req.destroy(new Error(`response larger than ${MAX_BODY_BYTES} bytes`))
            else chunks.push(c)
          })
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          )
          res.on('error', fail)
        },
      )
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.#o.timeoutMs} ms`)))
      req.on('error', fail)
      req.end()
    })
  }
}

function newAgent(ca: string | undefined): Agent {
  return new Agent({ keepAlive: true, maxSockets: 2, ...(ca ? { ca } : {}) })
}

/** code/message of a broker error body, cleaned for logs and the sidecar's own error bodies. */
function errorFields(body: string): { code?: string; message?: string } {
  try {
    const o = JSON.parse(body) as { code?: unknown; message?: unknown }
    const clean = (v: unknown): string | undefined =>
      typeof v === 'string'
        ? v.replace(/[^\x20-\x7e]/g, ' ').slice(0, MAX_MESSAGE_CHARS)
        : undefined
    const code = clean(o.code)
    const message = clean(o.message)
    return {
      ...(code && /^[A-Za-z0-9]+$/.test(code) ? { code } : {}),
      ...(message ? { message } : {}),
    }
  } catch {
    return {}
  }
}
