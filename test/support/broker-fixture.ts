// Starts the real broker in-process against the test control plane: its own static identity
// (iam-sidecar-broker) bound to exactly BROKER_RULES, TLS from the test CA, moto as STS, and a
// log captured for secret scans.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RbacAuthorizationV1Api } from '@kubernetes/client-node'
import { loadBrokerConfig } from '../../broker/config.ts'
import { startBroker, type BrokerRuntime } from '../../broker/main.ts'
import { BROKER_RULES } from '../../broker/rbac.ts'
import { createLogger } from '../../lib/log.ts'
import type { TestCluster } from '../peers/cluster.ts'
import { writeKubeconfig } from '../peers/control-plane.ts'

export const BROKER_AWS_CREDENTIALS = {
  accessKeyId: 'AKIDBROKERIDENTITY',
  secretAccessKey: 'broker-identity-secret-key',
}

let rbacDone: Promise<void> | undefined

/** Grants BROKER_RULES to the broker identity once per cluster. */
export function grantBrokerRbac(cluster: TestCluster): Promise<void> {
  rbacDone ??= (async () => {
    const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api)
    const name = `iam-sidecar-broker-test-${process.pid}`
    await rbac.createClusterRole({ body: { metadata: { name }, rules: [...BROKER_RULES] } })
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: [
          { kind: 'User', name: 'iam-sidecar-broker', apiGroup: 'rbac.authorization.k8s.io' },
        ],
      },
    })
  })()
  return rbacDone
}

export interface TestBrokerRuntime extends BrokerRuntime {
  readonly url: string
  readonly caFile: string
  logs(): string
}

export async function startRealBroker(
  cluster: TestCluster,
  flags: readonly string[] = [],
): Promise<TestBrokerRuntime> {
  await grantBrokerRbac(cluster)
  const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-broker-'))
  const kubeconfig = writeKubeconfig(dir, {
    server: cluster.info.apiserverUrl,
    caFile: cluster.info.caCertFile,
    user: 'iam-sidecar-broker',
    token: cluster.info.tokens['iam-sidecar-broker'],
  })
  const tls = cluster.pki.issueServing('broker', ['iam-sidecar-broker.iam-sidecar.svc'])
  const cfg = loadBrokerConfig(
    [
      `--kubeconfig=${kubeconfig}`,
      `--tls-cert-file=${tls.cert}`,
      `--tls-key-file=${tls.key}`,
      '--port=0',
      '--bind-address=127.0.0.1',
      '--metrics-port=0',
      '--metrics-bind-address=127.0.0.1',
      `--sts-endpoint=${cluster.info.stsEndpoint}`,
      '--cluster-name=test-cluster',
      '--log-level=debug',
      ...flags,
    ],
    {},
  )
  let out = ''
  const log = createLogger({
    level: 'debug',
    component: 'broker',
    write: (line) => (out += line + '\n'),
  })
  const rt = await startBroker(cfg, { awsCredentials: async () => BROKER_AWS_CREDENTIALS, log })
  const url = `https://127.0.0.1:${rt.port}`
  // Ready once informers are synced and the base ARN is known.
  const deadline = Date.now() + 20_000
  while (!(await ready(url, cluster.info.caCertFile))) {
    if (Date.now() > deadline) throw new Error(`broker not ready:\n${out}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    ...rt,
    url,
    caFile: cluster.info.caCertFile,
    logs: () => out,
    async close() {
      await rt.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

async function ready(url: string, caFile: string): Promise<boolean> {
  const { status } = await httpsGet(`${url}/readyz`, caFile).catch(() => ({ status: 0 }))
  return status === 200
}

export async function httpsGet(
  url: string,
  caFile: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(caFile), headers }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}
