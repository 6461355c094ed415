// Runs the broker as its own process through the CLI (`iam-sidecar broker`), configured the way
// a Deployment would configure it: flags, and the broker identity in the standard AWS env vars.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestCluster } from '../peers/cluster.ts'
import { writeKubeconfig } from '../peers/control-plane.ts'
import { repoRoot } from '../peers/paths.ts'
import { freePort } from '../peers/ports.ts'
import { BROKER_AWS_CREDENTIALS, grantBrokerRbac, httpsGet } from './broker-fixture.ts'

export interface BrokerProcess {
  readonly url: string
  readonly caFile: string
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
  const child = spawn(
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
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        AWS_ACCESS_KEY_ID: BROKER_AWS_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: BROKER_AWS_CREDENTIALS.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const url = `https://127.0.0.1:${port}`
  const bp: BrokerProcess = {
    url,
    caFile: cluster.info.caCertFile,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`broker exited ${child.exitCode}:\n${out}`)
    const { status } = await httpsGet(`${url}/readyz`, cluster.info.caCertFile).catch(() => ({
      status: 0,
    }))
    if (status === 200) return bp
    if (Date.now() > deadline) {
      await bp.stop()
      throw new Error(`broker not ready in 30 s:\n${out}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}
