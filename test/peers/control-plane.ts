// A real control plane for tests: etcd + kube-apiserver (+ kube-controller-manager) + moto, each
// on a free loopback port, all under one temp folder that stop() removes.
import { randomBytes } from 'node:crypto'
import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
  readdirSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'
import { peerBinaries, type PeerBinaries } from './paths.ts'
import { createPki, type TestPki } from './pki.ts'
import { freePort } from './ports.ts'
import { startProcess, waitFor, type PeerProcess } from './process.ts'
import { httpsStatus, httpStatus } from './https.ts'

/** Static identities of the test cluster (token-file users). Tests bind RBAC to them. */
export const IDENTITIES = ['admin', 'iam-sidecar-broker', 'iam-sidecar-injector'] as const
export type Identity = (typeof IDENTITIES)[number]

export interface ControlPlaneInfo {
  readonly workDir: string
  readonly apiserverUrl: string
  readonly caCertFile: string
  readonly tokens: Readonly<Record<Identity, string>>
  readonly stsEndpoint: string
  readonly controllerManager: boolean
}

export interface ControlPlane extends ControlPlaneInfo {
  readonly pki: TestPki
  readonly bins: PeerBinaries
  stop(): Promise<void>
}

const TEMP_PREFIX = 'iam-sidecar-peers-'

/**
 * Finds temp folders (named PREFIX…, holding owner.pid) left by runs that died before they could
 * clean up, and hands each to `remove` (default: delete it).
 */
export function sweepStale(
  prefix = TEMP_PREFIX,
  remove: (dir: string) => void = (dir) => rmSync(dir, { recursive: true, force: true }),
): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(prefix)) continue
    const dir = join(tmpdir(), name)
    const pidFile = join(dir, 'owner.pid')
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : NaN
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue
    remove(dir)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export async function startControlPlane(
  opts: { controllerManager?: boolean } = {},
): Promise<ControlPlane> {
  sweepStale()
  const bins = peerBinaries()
  const workDir = mkdtempSync(join(tmpdir(), TEMP_PREFIX))
  writeFileSync(join(workDir, 'owner.pid'), String(process.pid))
  const logDir = join(workDir, 'logs')
  mkdirSync(logDir)
  const procs: PeerProcess[] = []
  const stop = async (): Promise<void> => {
    for (const p of procs.reverse()) await p.stop()
    rmSync(workDir, { recursive: true, force: true })
  }
  try {
    const pkiDir = join(workDir, 'pki')
    mkdirSync(pkiDir)
    const pki = createPki(pkiDir)
    const tokens = Object.fromEntries(
      IDENTITIES.map((id) => [id, randomBytes(24).toString('hex')]),
    ) as Record<Identity, string>
    const ctx: Ctx = { bins, pki, workDir, logDir, procs }
    const etcdUrl = await startEtcd(ctx)
    const apiserverUrl = await startApiserver(ctx, tokens, etcdUrl)
    const kubeconfig = writeKubeconfig(workDir, {
      server: apiserverUrl,
      caFile: pki.caCert,
      user: 'admin',
      token: tokens.admin,
    })
    const withCm = (opts.controllerManager ?? true) && existsSync(bins.kubeControllerManager)
    if (withCm) await startControllerManager(ctx, kubeconfig)
    const stsEndpoint = await startMoto(bins.motoServer, logDir, procs)
    return Object.freeze({
      workDir,
      apiserverUrl,
      caCertFile: pki.caCert,
      tokens,
      stsEndpoint,
      controllerManager: withCm,
      pki,
      bins,
      stop,
    })
  } catch (err) {
    await stop()
    throw err
  }
}

/** What every peer starter needs: binaries, PKI, folders, and the list to register processes in. */
interface Ctx {
  readonly bins: PeerBinaries
  readonly pki: TestPki
  readonly workDir: string
  readonly logDir: string
  readonly procs: PeerProcess[]
}

/** A one-member etcd for tests: no fsync (a test's data is thrown away), warnings only. */
export function etcdArgs(o: { dataDir: string; clientUrl: string; peerUrl: string }): string[] {
  return [
    '--name=test',
    `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${o.clientUrl}`,
    `--advertise-client-urls=${o.clientUrl}`,
    `--listen-peer-urls=${o.peerUrl}`,
    `--initial-advertise-peer-urls=${o.peerUrl}`,
    `--initial-cluster=test=${o.peerUrl}`,
    '--unsafe-no-fsync',
    '--log-level=warn',
  ]
}

async function startEtcd({ bins, workDir, logDir, procs }: Ctx): Promise<string> {
  const [client, peer] = [await freePort(), await freePort()]
  const url = `http://127.0.0.1:${client}`
  const p = startProcess(
    'etcd',
    bins.etcd,
    etcdArgs({
      dataDir: join(workDir, 'etcd'),
      clientUrl: url,
      peerUrl: `http://127.0.0.1:${peer}`,
    }),
    { logDir },
  )
  procs.push(p)
  await waitFor(p, 'etcd health', async () => (await httpStatus(`${url}/health`)) === 200, 30_000)
  return url
}

async function startApiserver(
  { bins, pki, workDir, logDir, procs }: Ctx,
  tokens: Record<Identity, string>,
  etcdUrl: string,
): Promise<string> {
  const port = await freePort()
  const url = `https://127.0.0.1:${port}`
  const serving = pki.issueServing('apiserver', ['kubernetes', 'kubernetes.default.svc'])
  const tokenFile = join(pki.dir, 'tokens.csv')
  writeFileSync(
    tokenFile,
    [
      `${tokens.admin},admin,admin-uid,"system:masters"`,
      `${tokens['iam-sidecar-broker']},iam-sidecar-broker,broker-uid`,
      `${tokens['iam-sidecar-injector']},iam-sidecar-injector,injector-uid`,
    ].join('\n') + '\n',
  )
  const p = startProcess(
    'kube-apiserver',
    bins.kubeApiserver,
    [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${port}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--cert-dir=${join(workDir, 'apiserver-certs')}`,
      `--client-ca-file=${pki.caCert}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=RBAC',
      `--service-account-issuer=${url}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      // PodSecurity and ServiceAccount admission are on by default; say so to keep it true.
      '--enable-admission-plugins=PodSecurity,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
      // A loopback advertise address is refused by the endpoint reconciler; no kubernetes Service
      // endpoints are needed here.
      '--endpoint-reconciler-type=none',
      '--profiling=false',
      '--v=0',
    ],
    { logDir },
  )
  procs.push(p)
  const ca = readFileSync(pki.caCert)
  await waitFor(
    p,
    'apiserver /readyz',
    async () => (await httpsStatus(`${url}/readyz`, ca, tokens.admin)) === 200,
    120_000,
  )
  return url
}

async function startControllerManager(
  { bins, pki, logDir, procs }: Ctx,
  kubeconfig: string,
): Promise<void> {
  const port = await freePort()
  const p = startProcess(
    'kube-controller-manager',
    bins.kubeControllerManager,
    [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      // The controllers that make end-to-end tests realistic: default ServiceAccounts, namespace
      // deletion, Deployments/ReplicaSets and garbage collection.
      '--controllers=serviceaccount,namespace,deployment,replicaset,garbage-collector-controller,root-ca-certificate-publisher-controller',
      `--root-ca-file=${pki.caCert}`,
      '--use-service-account-credentials=false',
    ],
    { logDir },
  )
  procs.push(p)
  // It serves /healthz with a self-signed certificate of its own: any HTTP answer means it is up.
  await waitFor(
    p,
    'controller-manager /healthz',
    async () => (await httpsStatus(`https://127.0.0.1:${port}/healthz`, 'insecure')) === 200,
    60_000,
  )
}

export async function startMoto(
  motoServer: string,
  logDir: string,
  procs: PeerProcess[],
  /** Extra environment, e.g. INITIAL_NO_AUTH_ACTION_COUNT to make moto enforce IAM. */
  extraEnv: Record<string, string> = {},
): Promise<string> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  // Recording lets tests assert what was sent (moto ignores session tags and SourceIdentity).
  const p = startProcess('moto', motoServer, ['-H', '127.0.0.1', '-p', String(port)], {
    logDir,
    env: {
      ...process.env,
      MOTO_ENABLE_RECORDING: 'True',
      MOTO_RECORDER_FILEPATH: join(logDir, 'moto_recording'),
      ...extraEnv,
    },
  })
  procs.push(p)
  await waitFor(p, 'moto ready', async () => (await httpStatus(`${url}/moto-api/`)) === 200, 60_000)
  return url
}

export function writeKubeconfig(
  dir: string,
  o: { server: string; caFile: string; user: string; token: string },
): string {
  const { server, caFile, user, token } = o
  const kc = new KubeConfig()
  kc.loadFromOptions({
    clusters: [
      {
        name: 'test',
        server,
        caData: readFileSync(caFile).toString('base64'),
        skipTLSVerify: false,
      },
    ],
    users: [{ name: user, token }],
    contexts: [{ name: 'test', cluster: 'test', user }],
    currentContext: 'test',
  })
  const file = join(dir, `kubeconfig-${user}.yaml`)
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 })
  return file
}
