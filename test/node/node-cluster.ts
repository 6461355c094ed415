// A real one-node Kubernetes cluster for end-to-end tests, the demo and benchmarks: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, containerd + runc, a kubelet, kube-proxy
// (nftables) and CoreDNS, plus moto as the STS endpoint, all inside a network namespace made for
// the run (netns.ts), with a bridge CNI for pods. stop() removes everything; so does watchdog.sh
// when the process that started it dies, even by SIGKILL.
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { peerBinary, nodeBinaries } from '../peers/paths.ts'
import { createPki } from '../peers/pki.ts'
import { startProcess, waitFor, type PeerProcess } from '../peers/process.ts'
import { httpsStatus, httpStatus } from '../peers/https.ts'
import { etcdArgs, sweepStale, writeKubeconfig } from '../peers/control-plane.ts'
import {
  buildImages,
  PAUSE_IMAGE,
  type BuiltImage,
  type ImageName,
} from '../../scripts/image/images.ts'
import { canLowerOomScoreAdj, createNetwork, pickNetwork } from './netns.ts'
import { getInNetns } from './in-netns.ts'
import { kubeFor } from './kubectl.ts'
import { POD_LAYOUT as L } from '../../lib/sidecar-pod-layout.ts'
import {
  containerdConfig,
  corefile,
  cniConfig,
  kubeletConfig,
  kubeProxyConfig,
  PORTS,
  type NodeLayout,
} from './node-config.ts'

/** What a test, the demo or a benchmark needs to use a running node (JSON-serialisable). */
export interface NodeClusterInfo {
  readonly workDir: string
  readonly nodeName: string
  readonly nodeIp: string
  readonly apiserverUrl: string
  readonly caCertFile: string
  readonly adminToken: string
  /** Admin kubeconfig (also what helm and kubectl use). */
  readonly kubeconfig: string
  /** STS emulator, reachable from the host and from pods. */
  readonly stsEndpoint: string
  readonly containerdSocket: string
  readonly netns: string
  /** The kubelet's cgroup root (pods are under <root>/kubepods...). */
  readonly cgroupRoot: string
  readonly cgroupV2: boolean
  /** Set when this machine needed the oom_score_adj runc wrapper (a test-node adaptation). */
  readonly oomScoreAdjWrapper: boolean
}

export interface NodeCluster extends NodeClusterInfo {
  /** Seconds each stage took, for the demo and the benchmark. */
  readonly timings: Readonly<Record<string, number>>
  stop(): Promise<void>
}

const TEMP_PREFIX = 'iam-sidecar-node-'
const here = import.meta.dirname
const NODE_NAME = 'iam-sidecar-node'

/** Tears down nodes left by runs that died before their watchdog could (a reboot, say). */
export function sweepStaleNodes(): void {
  sweepStale(TEMP_PREFIX, (dir) =>
    execFileSync('bash', [join(here, 'teardown.sh'), dir], { stdio: 'ignore' }),
  )
}

function cgroupV2Host(): boolean {
  return existsSync('/sys/fs/cgroup/cgroup.controllers')
}

export async function startNodeCluster(
  opts: { log?: (line: string) => void } = {},
): Promise<NodeCluster> {
  const log = opts.log ?? (() => {})
  if (process.getuid?.() !== 0)
    throw new Error('the test node needs root (network namespaces, cgroups, mounts)')
  sweepStaleNodes()
  // Only what a node needs (the demo installs no hadolint or toxiproxy).
  const peers = {
    etcd: peerBinary('etcd'),
    kubeApiserver: peerBinary('kubeApiserver'),
    kubeControllerManager: peerBinary('kubeControllerManager'),
    kubectl: peerBinary('kubectl'),
    motoServer: peerBinary('motoServer'),
  }
  const node = nodeBinaries()
  const id = randomBytes(4).toString('hex')
  const net = pickNetwork(id)
  const workDir = mkdtempSync(join(tmpdir(), TEMP_PREFIX))
  const cgroupRoot = `iam-sidecar-${id}`
  writeFileSync(join(workDir, 'owner.pid'), String(process.pid))
  // Written before anything exists, so teardown.sh can always find what to remove.
  writeFileSync(
    join(workDir, 'node-state.env'),
    `NETNS=${net.netns}\nHOST_VETH=${net.hostVeth}\nCGROUP_ROOT=${cgroupRoot}\n`,
  )
  const watchdog = spawn(
    'setsid',
    ['bash', join(here, 'watchdog.sh'), String(process.pid), workDir],
    {
      detached: true,
      stdio: 'ignore',
    },
  )
  watchdog.unref()
  const logDir = join(workDir, 'logs')
  mkdirSync(logDir)
  const procs: PeerProcess[] = []
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    // The kubelet first, so it does not restart what containerd is stopping.
    for (const p of procs.slice().reverse()) await p.stop().catch(() => {})
    execFileSync('bash', [join(here, 'teardown.sh'), workDir], { stdio: 'ignore' })
    try {
      process.kill(-watchdog.pid!, 'SIGTERM')
    } catch {
      /* already gone */
    }
  }
  const timings: Record<string, number> = {}
  let t = performance.now()
  const lap = (name: string): void => {
    const now = performance.now()
    timings[name] = Math.round(now - t) / 1000
    log(`${name}: ${timings[name]} s`)
    t = now
  }
  try {
    const serviceCidr = '10.96.0.0/24'
    createNetwork(net, serviceCidr)
    const { netns, nodeIp } = net
    mkdirSync(join(workDir, 'pki'))
    const pki = createPki(join(workDir, 'pki'))
    const layout: NodeLayout = {
      workDir,
      nodeName: NODE_NAME,
      nodeIp,
      podCidr: '10.244.0.0/24',
      podGateway: '10.244.0.1',
      serviceCidr,
      dnsServiceIp: '10.96.0.10',
      cgroupRoot,
      cgroupV2: cgroupV2Host(),
      pauseImage: PAUSE_IMAGE,
      cniBinDir: node.cniBinDir,
    }
    const adminToken = randomBytes(24).toString('hex')
    const start = (name: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv) => {
      const p = startProcess(name, cmd, args, { logDir, netns, env })
      procs.push(p)
      return p
    }
    lap('network and PKI')

    // etcd, on the namespace's loopback.
    const etcdUrl = `http://127.0.0.1:${PORTS.etcdClient}`
    const etcd = start(
      'etcd',
      peers.etcd,
      etcdArgs({
        dataDir: join(workDir, 'etcd'),
        clientUrl: etcdUrl,
        peerUrl: `http://127.0.0.1:${PORTS.etcdPeer}`,
      }),
    )
    await waitFor(etcd, 'etcd health', inNetns(netns, `${etcdUrl}/health`), 30_000)

    // kube-apiserver on the node address: Node + RBAC authorization, NodeRestriction.
    const apiserverUrl = `https://${nodeIp}:${PORTS.apiserver}`
    const serving = pki.issueServing(
      'apiserver',
      [
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      [nodeIp, '10.96.0.1'],
    )
    const kubeletClient = pki.issueClient(
      'apiserver-kubelet-client',
      'kube-apiserver-kubelet-client',
      ['system:masters'],
    )
    const tokenFile = join(pki.dir, 'tokens.csv')
    writeFileSync(tokenFile, `${adminToken},admin,admin-uid,"system:masters"\n`, { mode: 0o600 })
    const apiserver = start('kube-apiserver', peers.kubeApiserver, [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${nodeIp}`,
      `--advertise-address=${nodeIp}`,
      `--secure-port=${PORTS.apiserver}`,
      `--tls-cert-file=${serving.cert}`,
      `--tls-private-key-file=${serving.key}`,
      `--cert-dir=${join(workDir, 'apiserver-certs')}`,
      `--client-ca-file=${pki.caCert}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction,PodSecurity,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      `--service-cluster-ip-range=${layout.serviceCidr}`,
      `--kubelet-client-certificate=${kubeletClient.cert}`,
      `--kubelet-client-key=${kubeletClient.key}`,
      `--kubelet-certificate-authority=${pki.caCert}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--allow-privileged=false',
      '--profiling=false',
      '--v=0',
    ])
    const ca = readFileSync(pki.caCert)
    await waitFor(
      apiserver,
      'apiserver /readyz',
      async () => (await httpsStatus(`${apiserverUrl}/readyz`, ca, adminToken)) === 200,
      120_000,
    )
    const kubeconfig = writeKubeconfig(workDir, {
      server: apiserverUrl,
      caFile: pki.caCert,
      user: 'admin',
      token: adminToken,
    })
    lap('etcd and kube-apiserver')

    // Controllers and the scheduler (admin credentials: a test cluster, one trust domain).
    start('kube-controller-manager', peers.kubeControllerManager, [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${PORTS.controllerManager}`,
      '--controllers=*,-bootstrapsigner,-tokencleaner,-csrsigning,-csrapproving,-csrcleaner,-persistentvolume-binder-controller,-persistentvolume-attach-detach-controller',
      `--root-ca-file=${pki.caCert}`,
      `--service-account-private-key-file=${pki.saKey}`,
      `--service-cluster-ip-range=${layout.serviceCidr}`,
      '--use-service-account-credentials=false',
      '--concurrent-deployment-syncs=10',
    ])
    start('kube-scheduler', node.kubeScheduler, [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${PORTS.scheduler}`,
    ])
    const moto = start('moto', peers.motoServer, ['-H', nodeIp, '-p', String(PORTS.moto)])
    const stsEndpoint = `http://${nodeIp}:${PORTS.moto}`

    // containerd (+ runc, with this machine's adaptation when it needs one).
    const binDir = join(workDir, 'bin')
    mkdirSync(binDir)
    const oomScoreAdjWrapper = !canLowerOomScoreAdj()
    if (oomScoreAdjWrapper) {
      writeFileSync(
        join(binDir, 'runc'),
        `#!/bin/sh\nREAL_RUNC='${node.runc}' exec bash '${join(here, 'runc-oom-score-adj-wrapper.sh')}' "$@"\n`,
      )
      chmodSync(join(binDir, 'runc'), 0o755)
    } else {
      execFileSync('ln', ['-s', node.runc, join(binDir, 'runc')])
    }
    execFileSync('ln', ['-s', node.containerdShim, join(binDir, 'containerd-shim-runc-v2')])
    const socket = join(workDir, 'containerd', 'containerd.sock')
    mkdirSync(join(workDir, 'cni'), { recursive: true })
    writeFileSync(join(workDir, 'cni', '10-bridge.conflist'), cniConfig(layout))
    writeFileSync(join(workDir, 'containerd.toml'), containerdConfig(layout, socket))
    const path = `${binDir}:${dirname(node.nft)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`
    const containerd = start(
      'containerd',
      node.containerd,
      ['--config', join(workDir, 'containerd.toml'), '--log-level', 'warn'],
      { ...process.env, PATH: path },
    )
    await waitFor(containerd, 'containerd socket', async () => existsSync(socket), 30_000)
    nodeCtr(socket, ['version'])
    // The sandbox image, built from the Kubernetes source (the kubelet never pulls it).
    const [pause] = await buildImages(['pause'])
    importImages(socket, [pause!.file])
    lap('containerd')

    // The kubelet, with its own client certificate (system:node:NAME) and serving certificate.
    makeCgroupRoot(cgroupRoot, layout.cgroupV2)
    const kubeletDir = join(workDir, 'kubelet')
    mkdirSync(kubeletDir)
    writeFileSync(join(workDir, 'resolv.conf'), '')
    const kClient = pki.issueClient('kubelet-client', `system:node:${NODE_NAME}`, ['system:nodes'])
    const kServing = pki.issueServing('kubelet', [NODE_NAME], [nodeIp])
    const kubeletKubeconfig = join(workDir, 'kubeconfig-kubelet.yaml')
    writeFileSync(
      kubeletKubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'node', cluster: { server: apiserverUrl, 'certificate-authority': pki.caCert } },
        ],
        users: [
          {
            name: 'kubelet',
            user: { 'client-certificate': kClient.cert, 'client-key': kClient.key },
          },
        ],
        contexts: [{ name: 'node', context: { cluster: 'node', user: 'kubelet' } }],
        'current-context': 'node',
      }),
      { mode: 0o600 },
    )
    writeFileSync(
      join(workDir, 'kubelet.json'),
      kubeletConfig(layout, {
        caFile: pki.caCert,
        servingCert: kServing.cert,
        servingKey: kServing.key,
        socket,
      }),
    )
    const kubelet = start(
      'kubelet',
      node.kubelet,
      [
        `--config=${join(workDir, 'kubelet.json')}`,
        `--kubeconfig=${kubeletKubeconfig}`,
        `--root-dir=${kubeletDir}`,
        `--cert-dir=${join(kubeletDir, 'pki')}`,
        `--node-ip=${nodeIp}`,
        `--hostname-override=${NODE_NAME}`,
        '--v=1',
      ],
      { ...process.env, PATH: path },
    )

    // kube-proxy (nftables) and cluster DNS.
    writeFileSync(join(workDir, 'kube-proxy.json'), kubeProxyConfig(layout, kubeconfig))
    const proxy = start(
      'kube-proxy',
      node.kubeProxy,
      [`--config=${join(workDir, 'kube-proxy.json')}`],
      {
        ...process.env,
        PATH: path,
      },
    )
    writeFileSync(join(workDir, 'Corefile'), corefile(layout, kubeconfig))
    start('coredns', node.coredns, ['-conf', join(workDir, 'Corefile')])
    await waitFor(
      moto,
      'moto ready',
      async () => (await httpStatus(`${stsEndpoint}/moto-api/`)) === 200,
      60_000,
    )

    const kube = kubeFor({ kubeconfig, workDir })
    await waitFor(
      kubelet,
      'node Ready',
      async () =>
        (await kube.kubectl([
          'get',
          'node',
          NODE_NAME,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ])) === 'True',
      90_000,
    )
    lap('kubelet Ready')
    await kube.apply(clusterDns(layout))
    await waitFor(
      proxy,
      'kube-proxy healthz',
      inNetns(netns, `http://127.0.0.1:${PORTS.kubeProxyHealthz}/healthz`),
      60_000,
    )
    lap('kube-proxy and DNS')

    return Object.freeze({
      workDir,
      nodeName: NODE_NAME,
      nodeIp,
      apiserverUrl,
      caCertFile: pki.caCert,
      adminToken,
      kubeconfig,
      stsEndpoint,
      containerdSocket: socket,
      netns,
      cgroupRoot,
      cgroupV2: layout.cgroupV2,
      oomScoreAdjWrapper,
      timings,
      stop,
    })
  } catch (err) {
    const tails = procs.map((p) => `--- ${p.name}\n${p.tail(15)}`).join('\n')
    await stop()
    throw new Error(`${(err as Error).message}\n${tails}`, { cause: err })
  }
}

/** A readiness check: a GET from inside the node's network namespace answers 200. */
function inNetns(netns: string, url: string): () => Promise<boolean> {
  return async () => (await getInNetns(netns, { url })).status === 200
}

/** The kubelet's cgroupRoot must exist in every hierarchy before it starts (teardown removes it). */
function makeCgroupRoot(name: string, v2: boolean): void {
  const base = '/sys/fs/cgroup'
  const dirs = v2
    ? [join(base, name)]
    : readdirSync(base)
        .filter((d) => d !== 'unified' && existsSync(join(base, d, 'cgroup.procs')))
        .map((d) => join(base, d, name))
  for (const d of dirs) mkdirSync(d, { recursive: true })
}

/** Runs ctr against the node's containerd, in the namespace the kubelet uses. */
export function nodeCtr(socket: string, args: readonly string[]): string {
  // stderr kept: ctr repeats containerd's cgroup v1 deprecation warning on every call.
  return execFileSync(nodeBinaries().ctr, ['--address', socket, '-n', 'k8s.io', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** Builds the named images (unless up to date) and loads them into the node's image store. */
export async function loadImages(
  node: NodeClusterInfo,
  names: readonly ImageName[],
): Promise<BuiltImage[]> {
  const images = await buildImages(names)
  importImages(
    node.containerdSocket,
    images.map((i) => i.file),
  )
  return images
}

/** The PID of a running container's task (its processes' network namespace is the pod's). */
export function containerPid(node: NodeClusterInfo, containerId: string): number {
  const out = nodeCtr(node.containerdSocket, ['tasks', 'ls'])
  const line = out.split('\n').find((l) => l.startsWith(`${containerId} `))
  const pid = Number(line?.trim().split(/\s+/)[1])
  if (!Number.isInteger(pid) || pid <= 0)
    throw new Error(`no running task for container ${containerId}`)
  return pid
}

/** Loads OCI archives into the node's image store (the kubelet then runs them, never pulling). */
export function importImages(socket: string, files: readonly string[]): void {
  for (const f of files) nodeCtr(socket, ['images', 'import', f])
}

/**
 * Where the kubelet keeps a file of the injected sidecar's volumes for a pod: its per-pod secret
 * (a memory emptyDir) or its projected ServiceAccount token.
 */
export function sidecarVolumeFile(
  node: Pick<NodeClusterInfo, 'workDir'>,
  podUid: string,
  which: 'secret' | 'token',
): string {
  const [plugin, volume] =
    which === 'secret'
      ? ['kubernetes.io~empty-dir', L.secretVolume]
      : ['kubernetes.io~projected', L.tokenVolume]
  return join(node.workDir, 'kubelet', 'pods', podUid, 'volumes', plugin, volume, 'token')
}

/**
 * The kube-dns Service on its well-known ClusterIP, backed by CoreDNS on the node address (it
 * runs as a node process here, not as a pod, so the pause and app images are the only images).
 */
function clusterDns(l: NodeLayout): object[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        clusterIP: l.dnsServiceIp,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        ],
      },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'kube-dns-node',
        namespace: 'kube-system',
        labels: { 'kubernetes.io/service-name': 'kube-dns' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [l.nodeIp], conditions: { ready: true } }],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    },
  ]
}
