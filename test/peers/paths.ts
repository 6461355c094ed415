// Where the installed peers live. Mirrors scripts/peers/lib.sh: the cache is per user, outside
// the clone, keyed by the versions pinned in scripts/peers/versions.env.
import { readFileSync, existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

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
