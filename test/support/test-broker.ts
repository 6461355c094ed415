// A TEST STAND-IN for the broker (the real one is broker/, a later issue): an HTTPS server that
// speaks the broker wire contract (lib/broker-wire.ts) and hands out credentials that the real
// STS emulator (moto) issued, so SDK clients end up using real moto credentials. Its behaviour
// is scripted by tests (deny, fail, stall, short sessions) to drive the sidecar's refresh and
// failure paths.
import { createServer, type Server } from 'node:https'
import type { ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts'
import { BROKER_CREDENTIALS_PATH } from '../../lib/broker-wire.ts'
import { toBody } from '../../lib/credentials.ts'
import type { CertFiles } from '../peers/pki.ts'

export type BrokerMode =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; code: string; message: string }
  | { kind: 'stall'; ms: number }
  /** Answers only once `until` resolves (e.g. after the sidecar has served a 503). */
  | { kind: 'hold'; until: Promise<unknown> }

export interface TestBroker {
  readonly url: string
  readonly calls: number
  /** Access keys handed out so far (for asserting that nothing leaked). */
  readonly issued: readonly { accessKeyId: string; secretAccessKey: string; sessionToken: string }[]
  /** Queues modes for the next calls; when the queue is empty, `fallback` applies. */
  script(...modes: BrokerMode[]): void
  setFallback(mode: BrokerMode): void
  /** Serves another certificate from now on and drops open connections (a CA rotation). */
  rotate(tls: CertFiles): void
  close(): Promise<void>
}

export interface TestBrokerOptions {
  readonly tls: CertFiles
  readonly stsEndpoint: string
  readonly roleArn: string
  /** The Bearer token the broker accepts (stands in for TokenReview). */
  readonly token: string
  readonly durationSeconds: number
  /** Session names are `${sessionPrefix}-<n>`, so clients can see which session they hold. */
  readonly sessionPrefix?: string
}

export async function startTestBroker(o: TestBrokerOptions): Promise<TestBroker> {
  const sts = new STSClient({
    endpoint: o.stsEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTESTBROKER', secretAccessKey: 'test-broker-secret' },
  })
  const queue: BrokerMode[] = []
  let fallback: BrokerMode = { kind: 'ok' }
  let calls = 0
  const issued: { accessKeyId: string; secretAccessKey: string; sessionToken: string }[] = []
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  }
  const server: Server = createServer(
    { cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) },
    (req, res) => {
      void (async () => {
        if (req.method !== 'GET' || req.url !== BROKER_CREDENTIALS_PATH)
          return json(res, 404, { code: 'NotFound', message: 'no such path' })
        if (req.headers.authorization !== `Bearer ${o.token}`)
          return json(res, 401, { code: 'InvalidToken', message: 'token rejected' })
        calls++
        let mode = queue.shift() ?? fallback
        if (mode.kind === 'stall' || mode.kind === 'hold') {
          await (mode.kind === 'hold'
            ? mode.until
            : new Promise((r) => setTimeout(r, mode.kind === 'stall' ? mode.ms : 0)))
          mode = { kind: 'ok' }
        }
        if (mode.kind === 'status')
          return json(res, mode.status, { code: mode.code, message: mode.message })
        const out = await sts.send(
          new AssumeRoleCommand({
            RoleArn: o.roleArn,
            RoleSessionName: `${o.sessionPrefix ?? 'session'}-${calls}`,
            DurationSeconds: o.durationSeconds,
          }),
        )
        const c = out.Credentials!
        issued.push({
          accessKeyId: c.AccessKeyId!,
          secretAccessKey: c.SecretAccessKey!,
          sessionToken: c.SessionToken!,
        })
        json(
          res,
          200,
          toBody({
            accessKeyId: c.AccessKeyId!,
            secretAccessKey: c.SecretAccessKey!,
            sessionToken: c.SessionToken!,
            expiresAt: c.Expiration!.getTime(),
            accountId: o.roleArn.split(':')[4]!,
            roleArn: o.roleArn,
          }),
        )
      })().catch((err: Error) => json(res, 500, { code: 'TestBrokerError', message: err.message }))
    },
  )
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as AddressInfo).port
  return {
    url: `https://127.0.0.1:${port}`,
    get calls() {
      return calls
    },
    issued,
    script: (...modes) => void queue.push(...modes),
    setFallback: (mode) => void (fallback = mode),
    rotate(tls) {
      server.setSecureContext({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) })
      server.closeAllConnections()
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
