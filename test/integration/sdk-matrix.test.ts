// The SDK compatibility matrix: real AWS SDK clients in seven flavours, each a separate process
// configured only by AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
// (plus region and the moto endpoint), get the pod's role from the sidecar bundle and call
// sts:GetCallerIdentity on moto. Upstream: the test broker stand-in, handing out moto sessions.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
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
})
