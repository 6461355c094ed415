// The SDK compatibility matrix: real AWS SDK clients in seven flavours, each a separate process
// configured only by AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
// (plus region and the moto endpoint), get the pod's role from the sidecar bundle and call
// sts:GetCallerIdentity on moto. Upstream: the test broker stand-in, handing out moto sessions.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import type { V1Container } from '@kubernetes/client-node'
import { envEdit } from '../../injector/app-env.ts'
import { loadInjectorConfig } from '../../injector/config.ts'
import { sidecarSpec } from '../../injector/sidecar-spec.ts'
import { useCluster } from '../peers/cluster.ts'
import { installed, sdkClients } from '../sdk-clients/clients.ts'
import { runClient } from '../support/run-client.ts'
import { startSidecar, type SidecarProcess } from '../support/sidecar-process.ts'
import { startTestBroker, type BrokerMode, type TestBroker } from '../support/test-broker.ts'

const cluster = await useCluster()
const ACCOUNT = '345678901234'
const ROLE = `arn:aws:iam::${ACCOUNT}:role/matrix-app`
const SA_TOKEN = 'matrix-projected-token'
const arnOf = (session: string): string =>
  `arn:aws:sts::${ACCOUNT}:assumed-role/matrix-app/${session}`

const cleanups: (() => Promise<void>)[] = []
after(async () => {
  for (const c of cleanups.reverse()) await c()
})

async function stack(o: {
  durationSeconds: number
  sessionPrefix: string
  firstCall?: BrokerMode
  logLevel?: string
}): Promise<{ broker: TestBroker; sidecar: SidecarProcess }> {
  const broker = await startTestBroker({
    tls: cluster.pki.issueServing('matrix-broker'),
    stsEndpoint: cluster.info.stsEndpoint,
    roleArn: ROLE,
    token: SA_TOKEN,
    durationSeconds: o.durationSeconds,
    sessionPrefix: o.sessionPrefix,
  })
  cleanups.push(() => broker.close())
  if (o.firstCall) broker.script(o.firstCall)
  const sidecar = await startSidecar({
    brokerUrl: broker.url,
    caFile: cluster.info.caCertFile,
    token: SA_TOKEN,
    extraArgs: [`--log-level=${o.logLevel ?? 'info'}`],
    waitReady: o.firstCall === undefined,
  })
  cleanups.push(() => sidecar.stop())
  return { broker, sidecar }
}

const target = (sp: SidecarProcess) => ({
  credentialsUrl: `${sp.url}/v1/credentials`,
  tokenFile: sp.secretFile,
  stsEndpoint: cluster.info.stsEndpoint,
})

const lines = (out: string): string[] =>
  out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)

describe('SDK compatibility matrix', () => {
  it('has every client built (scripts/sdk-clients/install.sh)', () => {
    assert.deepEqual(
      sdkClients.filter((c) => !installed(c.id)).map((c) => c.id),
      [],
    )
  })

  describe('one call through the default chain prints the assumed-role ARN', () => {
    let sidecar: SidecarProcess
    before(async () => {
      ;({ sidecar } = await stack({ durationSeconds: 3600, sessionPrefix: 'pod-a' }))
    })
    for (const client of sdkClients) {
      it(`${client.id} (${client.sdk} ${client.version})`, async (t) => {
        const run = await runClient(client, target(sidecar))
        assert.equal(run.code, 0, `exit ${run.code}\n${run.stderr}`)
        assert.deepEqual(lines(run.stdout), [arnOf('pod-a-1')])
        t.diagnostic(`${client.id}: ${run.ms} ms`)
      })
    }
  })

  // The loop clients run side by side against one sidecar: they mostly wait between calls.
  describe(
    'a long-running client keeps working across credential refreshes',
    { concurrency: true },
    () => {
      let sidecar: SidecarProcess
      before(async () => {
        // 12 s sessions: the sidecar refreshes at half-life, so a 16 s loop spans several sessions.
        ;({ sidecar } = await stack({ durationSeconds: 12, sessionPrefix: 'short' }))
      })
      for (const client of sdkClients.filter((c) => c.supportsLoop)) {
        it(`${client.id} moves to the refreshed session without an error`, async (t) => {
          const run = await runClient(client, {
            ...target(sidecar),
            loop: { count: 5, intervalMs: 4000 },
          })
          assert.equal(run.code, 0, `exit ${run.code}\n${run.stderr}`)
          const arns = lines(run.stdout)
          assert.equal(arns.length, 5)
          for (const arn of arns) assert.match(arn, new RegExp(`^${arnOf('short-')}\\d+$`))
          const sessions = new Set(arns)
          assert.ok(sessions.size >= 2, `stayed on one session: ${[...sessions].join(', ')}`)
          t.diagnostic(
            `${client.id}: sessions ${[...sessions].map((a) => a.split('/').pop()).join(' -> ')}`,
          )
        })
      }
    },
  )

  describe('a client started before the first credentials exist succeeds once they do', () => {
    for (const client of sdkClients) {
      it(`${client.id} retries the 503 and gets the role`, async () => {
        let release!: () => void
        const held = new Promise<void>((r) => (release = r))
        const { sidecar } = await stack({
          durationSeconds: 3600,
          sessionPrefix: 'cold',
          firstCall: { kind: 'hold', until: held },
          logLevel: 'debug',
        })
        // The broker answers the sidecar's first fetch only after the sidecar has turned this
        // client away with a 503, so the client really starts before credentials exist.
        const watcher = setInterval(() => {
          if (/"msg":"request refused","status":503/.test(sidecar.output())) release()
        }, 20)
        try {
          const run = await runClient(client, target(sidecar))
          assert.match(
            sidecar.output(),
            /"status":503,"code":"CredentialsNotReady"/,
            'the client saw a 503 first',
          )
          assert.equal(run.code, 0, `exit ${run.code}\n${run.stderr}`)
          assert.deepEqual(lines(run.stdout), [arnOf('cold-1')])
        } finally {
          clearInterval(watcher)
          release()
        }
      })
    }
  })

  // An app behind an HTTP proxy: the container sets HTTP(S)_PROXY and a NO_PROXY for its own
  // direct hosts (here the STS endpoint, reached as localhost). Without 127.0.0.1 in NO_PROXY the
  // SDKs that proxy the credential request send it to the proxy, which here is a closed port; with
  // the injector's env edit applied, every SDK reaches the sidecar directly.
  describe('an app behind an HTTP proxy', () => {
    let sidecar: SidecarProcess
    let proxy: string
    const proxied = new Set<string>()
    before(async () => {
      ;({ sidecar } = await stack({ durationSeconds: 3600, sessionPrefix: 'proxied' }))
      proxy = `http://127.0.0.1:${await closedPort()}`
    })
    const container = (): V1Container => ({
      name: 'app',
      env: [
        { name: 'HTTP_PROXY', value: proxy },
        { name: 'HTTPS_PROXY', value: proxy },
        { name: 'http_proxy', value: proxy },
        { name: 'https_proxy', value: proxy },
        { name: 'NO_PROXY', value: 'localhost' },
        { name: 'no_proxy', value: 'localhost' },
      ],
    })
    const viaLocalhost = () => ({
      ...target(sidecar),
      stsEndpoint: cluster.info.stsEndpoint.replace('127.0.0.1', 'localhost'),
    })
    const asEnv = (c: V1Container): Record<string, string> =>
      Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? '']))

    for (const client of sdkClients) {
      it(`${client.id}: the injector's NO_PROXY edit makes it reach the sidecar`, async (t) => {
        const before = await runClient(client, { ...viaLocalhost(), extraEnv: asEnv(container()) })
        if (before.code !== 0) proxied.add(client.id)
        const c = container()
        const spec = sidecarSpec(loadInjectorConfig(['--tls-self-bootstrap'], {}))
        const edit = envEdit(c, spec)
        for (const s of edit.set) c.env![s.index]!.value = s.value
        const env = { ...asEnv(c) }
        assert.equal(env.NO_PROXY, 'localhost,127.0.0.1')
        const after = await runClient(client, { ...viaLocalhost(), extraEnv: env })
        assert.equal(after.code, 0, `exit ${after.code}\n${after.stderr}`)
        assert.deepEqual(lines(after.stdout), [arnOf('proxied-1')])
        t.diagnostic(`${client.id}: without the edit ${before.code === 0 ? 'worked' : 'FAILED'}`)
      })
    }

    it('at least one SDK sends the credential request to the proxy without the edit', () => {
      assert.ok(proxied.size > 0, 'no SDK was affected: the test could not fail')
    })
  })
})

/** A loopback port with nothing listening: a proxy that refuses every connection. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
