// Runs the broker as its own process through the CLI (`iam-sidecar broker`), configured the way
// a Deployment would configure it: flags, and the broker identity in the standard AWS env vars.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestCluster } from '../peers/cluster.ts'
import { writeKubeconfig } from '../peers/control-plane.ts'
import { repoRoot } from '../peers/paths.ts'
import { freePort } from '../peers/ports.ts'
import { BROKER_AWS_CREDENTIALS, grantBrokerRbac, httpsGet } from './broker-fixture.ts'
import { startProgram, waitUntilReady } from './program.ts'

export interface BrokerProcess {
  readonly url: string
  readonly caFile: string
  /** Plain HTTP /metrics (Prometheus text). */
  readonly metricsUrl: string
  readonly child: ChildProcess
  output(): string
  stop(): Promise<void>
}

export async function startBrokerProcess(
  cluster: TestCluster,
  flags: readonly string[] = [],
): Promise<BrokerProcess> {
  await grantBrokerRbac(cluster)
  const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-broker-proc-'))
  const kubeconfig = writeKubeconfig(dir, {
    server: cluster.info.apiserverUrl,
    caFile: cluster.info.caCertFile,
    user: 'iam-sidecar-broker',
    token: cluster.info.tokens['iam-sidecar-broker'],
  })
  const tls = cluster.pki.issueServing('broker-proc')
  const [port, metricsPort] = [await freePort(), await freePort()]
  const program = startProgram(
    process.execPath,
    [
      join(repoRoot, 'bin', 'iam-sidecar.ts'),
      'broker',
      `--kubeconfig=${kubeconfig}`,
      `--tls-cert-file=${tls.cert}`,
      `--tls-key-file=${tls.key}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--metrics-port=${metricsPort}`,
      '--metrics-bind-address=127.0.0.1',
      `--sts-endpoint=${cluster.info.stsEndpoint}`,
      '--cluster-name=test-cluster',
      ...flags,
    ],
    {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      AWS_ACCESS_KEY_ID: BROKER_AWS_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: BROKER_AWS_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  )
  const url = `https://127.0.0.1:${port}`
  const bp: BrokerProcess = {
    url,
    caFile: cluster.info.caCertFile,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    child: program.child,
    output: program.output,
    async stop() {
      await program.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    await waitUntilReady(
      program,
      async () => (await httpsGet(`${url}/readyz`, cluster.info.caCertFile)).status === 200,
      { what: 'broker', timeoutMs: 30_000, pollMs: 100 },
    )
  } catch (err) {
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  return bp
}
