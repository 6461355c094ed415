// Where the installed peers live. Mirrors scripts/peers/lib.sh: the cache is per user, outside
// the clone, keyed by the versions pinned in scripts/peers/versions.env.
import { readFileSync, existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { delimiter, join, resolve } from 'node:path'

export const repoRoot = resolve(import.meta.dirname, '..', '..')

export function cacheRoot(): string {
  const env = process.env
  return (
    env.IAM_SIDECAR_CACHE_DIR ??
    join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'iam-sidecar')
  )
}

export interface PeerVersions {
  readonly kubernetes: string
  readonly etcd: string
  readonly helm: string
  readonly moto: string
  readonly toxiproxy: string
  readonly hadolint: string
  readonly containerd: string
  readonly runc: string
  readonly cniPlugins: string
  readonly coredns: string
}

export function peerVersions(): PeerVersions {
  const text = readFileSync(join(repoRoot, 'scripts', 'peers', 'versions.env'), 'utf8')
  const vars = new Map<string, string>()
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(\S+)$/.exec(line.trim())
    if (m) vars.set(m[1]!, m[2]!)
  }
  const get = (k: string): string => {
    const v = vars.get(k)
    if (!v) throw new Error(`scripts/peers/versions.env lacks ${k}`)
    return v
  }
  return Object.freeze({
    kubernetes: get('KUBERNETES_VERSION'),
    etcd: get('ETCD_VERSION'),
    helm: get('HELM_VERSION'),
    moto: get('MOTO_VERSION'),
    toxiproxy: get('TOXIPROXY_VERSION'),
    hadolint: get('HADOLINT_VERSION'),
    containerd: get('CONTAINERD_VERSION'),
    runc: get('RUNC_VERSION'),
    cniPlugins: get('CNI_PLUGINS_VERSION'),
    coredns: get('COREDNS_VERSION'),
  })
}

export interface PeerBinaries {
  readonly etcd: string
  readonly kubeApiserver: string
  readonly kubeControllerManager: string
  readonly kubectl: string
  readonly helm: string
  readonly motoServer: string
  readonly hadolint: string
}

/** Paths of the peer binaries; throws naming the install command when one is missing. */
export function peerBinaries(): PeerBinaries {
  const bins = peerPaths()
  for (const [name, path] of Object.entries(bins)) {
    if (!existsSync(path)) throw new Error(`peer ${name} missing at ${path}: run \`npm run peers\``)
  }
  return bins
}

/** One peer binary, checked alone (benchmarks need moto but not Kubernetes). */
export function peerBinary(name: keyof PeerBinaries): string {
  const path = peerPaths()[name]
  if (!existsSync(path)) throw new Error(`peer ${name} missing at ${path}: run \`npm run peers\``)
  return path
}

/** The test node's binaries (test/node/); kept apart so other tests never need them. */
export interface NodeBinaries {
  readonly kubelet: string
  readonly kubeScheduler: string
  readonly kubeProxy: string
  readonly containerd: string
  readonly containerdShim: string
  readonly ctr: string
  readonly runc: string
  /** Holds bridge, host-local, loopback and portmap. */
  readonly cniBinDir: string
  readonly coredns: string
  readonly pause: string
  /** A host binary (Debian nftables), found on PATH or in /usr/sbin, /sbin. */
  readonly nft: string
}

const CNI_PLUGINS = ['bridge', 'host-local', 'loopback', 'portmap'] as const

/** Paths of the test node's binaries; throws naming the install command when one is missing. */
export function nodeBinaries(): NodeBinaries {
  const v = peerVersions()
  const peers = join(cacheRoot(), 'peers')
  const k8s = join(peers, `kubernetes-${v.kubernetes}`, 'bin')
  const containerd = join(peers, `containerd-${v.containerd}`, 'bin')
  const cniBinDir = join(peers, `cni-plugins-${v.cniPlugins}`, 'bin')
  const bins: NodeBinaries = Object.freeze({
    kubelet: join(k8s, 'kubelet'),
    kubeScheduler: join(k8s, 'kube-scheduler'),
    kubeProxy: join(k8s, 'kube-proxy'),
    containerd: join(containerd, 'containerd'),
    containerdShim: join(containerd, 'containerd-shim-runc-v2'),
    ctr: join(containerd, 'ctr'),
    runc: join(peers, `runc-${v.runc}`, 'bin', 'runc'),
    cniBinDir,
    coredns: join(peers, `coredns-${v.coredns}`, 'bin', 'coredns'),
    pause: join(peers, `pause-${v.kubernetes}`, 'bin', 'pause'),
    nft: findHostBinary('nft'),
  })
  const required: [string, string][] = [
    ...Object.entries(bins),
    ...CNI_PLUGINS.map((p): [string, string] => [`cni ${p}`, join(cniBinDir, p)]),
  ]
  for (const [name, path] of required) {
    if (!existsSync(path)) throw new Error(`peer ${name} missing at ${path}: run \`npm run peers\``)
  }
  return bins
}

/** A host binary on PATH, else in the sbin folders a non-root PATH often lacks (or its name). */
function findHostBinary(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/sbin']
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p)) ?? join('/usr/sbin', name)
}

function peerPaths(): PeerBinaries {
  const v = peerVersions()
  const peers = join(cacheRoot(), 'peers')
  const k8s = join(peers, `kubernetes-${v.kubernetes}`, 'bin')
  const bins = {
    etcd: join(peers, `etcd-${v.etcd}`, 'bin', 'etcd'),
    kubeApiserver: join(k8s, 'kube-apiserver'),
    kubeControllerManager: join(k8s, 'kube-controller-manager'),
    kubectl: join(k8s, 'kubectl'),
    helm: join(peers, `helm-${v.helm}`, 'bin', 'helm'),
    motoServer: join(peers, `moto-${v.moto}`, 'bin', 'moto_server'),
    hadolint: join(peers, `hadolint-${v.hadolint}`, 'bin', 'hadolint'),
  }
  return Object.freeze(bins)
}
