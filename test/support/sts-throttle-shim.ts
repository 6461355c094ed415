// TEST STAND-IN, not a model of STS: an HTTP server on 127.0.0.1 in front of moto that answers
// AssumeRole with STS's real throttling error (HTTP 400, awsQuery XML, code Throttling) for the
// first `throttleFirst` AssumeRole requests, or for all of them while `throttling` is true, and
// forwards everything else to moto unchanged. moto itself never throttles, so this is how tests
// prove that the real SDK's error parsing reaches toStsError as kind 'throttled'.
// EMULATION, named as such: with `inheritedTransitiveTags` set, it plays a caller whose own
// session carries those keys as transitive tags (an EKS Pod Identity session does) and refuses
// an AssumeRole that sets one of them, as STS does. moto does not enforce this, and the exact
// wording of STS's message was not observed here: the code (InvalidParameterValue) and a message
// that names the transitive tag are what the broker relies on.
import { createServer, request as httpRequest } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export const THROTTLING_BODY =
  '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>' +
  '<Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>'

export class StsThrottleShim {
  /** How many of the next AssumeRole requests to throttle. */
  throttleFirst: number
  /** While true, every AssumeRole request is throttled. */
  throttling = false
  /** All requests received. */
  requests = 0
  /** AssumeRole requests received (throttled or forwarded). */
  assumeRoleRequests = 0
  /** AssumeRole requests answered with Throttling. */
  throttled = 0
  /** Tag keys the emulated caller session carries as transitive tags. */
  inheritedTransitiveTags: readonly string[] = []
  /** Added before every AssumeRole is forwarded (benchmarks: a slower STS than moto). */
  latencyMs = 0
  readonly #server: Server
  readonly #upstream: URL
  #url = ''

  private constructor(upstream: string, throttleFirst: number) {
    this.#upstream = new URL(upstream)
    this.throttleFirst = throttleFirst
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`shim: ${String(err)}`)
      })
    })
  }

  static async start(o: { upstream: string; throttleFirst?: number }): Promise<StsThrottleShim> {
    const shim = new StsThrottleShim(o.upstream, o.throttleFirst ?? 0)
    await new Promise<void>((resolve) => shim.#server.listen(0, '127.0.0.1', resolve))
    shim.#url = `http://127.0.0.1:${(shim.#server.address() as AddressInfo).port}`
    return shim
  }

  get url(): string {
    return this.#url
  }

  close(): Promise<void> {
    this.#server.closeAllConnections()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    this.requests++
    const form = new URLSearchParams(body.toString('utf8'))
    if (form.get('Action') === 'AssumeRole') {
      this.assumeRoleRequests++
      const clash = [...form.entries()].find(
        ([k, v]) => /^Tags\.member\.\d+\.Key$/.test(k) && this.inheritedTransitiveTags.includes(v),
      )
      if (clash) {
        res
          .writeHead(400, { 'content-type': 'text/xml', 'x-amzn-requestid': 'x' })
          .end(
            '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code>' +
              `<Message>Session tag ${clash[1]} cannot override a transitive tag of the calling session</Message>` +
              '</Error><RequestId>x</RequestId></ErrorResponse>',
          )
        return
      }
      if (this.throttling || this.throttleFirst > 0) {
        if (this.throttleFirst > 0) this.throttleFirst--
        this.throttled++
        // Real STS sends the request id in a header too; the SDK reads it from there.
        res
          .writeHead(400, { 'content-type': 'text/xml', 'x-amzn-requestid': 'x' })
          .end(THROTTLING_BODY)
        return
      }
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs))
    }
    await this.#forward(req, body, res)
  }

  #forward(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    return new Promise((resolve, reject) => {
      const up = httpRequest(
        {
          hostname: this.#upstream.hostname,
          port: this.#upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers)
          upRes.pipe(res)
          upRes.on('end', resolve)
          upRes.on('error', reject)
        },
      )
      up.on('error', reject)
      up.end(body)
    })
  }
}
