// node --test --test-global-setup: one control plane for the whole run, shared by every test
// file through the info file named in IAM_SIDECAR_TEST_CLUSTER (files use fresh namespaces).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startControlPlane, type ControlPlane } from './control-plane.ts'
import { CLUSTER_INFO_ENV } from './cluster.ts'
import { startNodeCluster, type NodeCluster } from '../node/node-cluster.ts'
import { NODE_INFO_ENV } from '../node/use-node.ts'

let plane: ControlPlane | undefined
let node: NodeCluster | undefined

export async function globalSetup(): Promise<void> {
  const t0 = Date.now()
  // The real node (network namespace, containerd, kubelet) starts beside the shared control
  // plane; the node tests use it, the rest of the run does not wait on it.
  const nodeStart = startNodeCluster()
  nodeStart.catch(() => {})
  plane = await startControlPlane()
  const { stop: _stop, pki: _pki, bins: _bins, ...info } = plane
  const file = join(plane.workDir, 'cluster.json')
  writeFileSync(file, JSON.stringify(info), { mode: 0o600 })
  process.env[CLUSTER_INFO_ENV] = file
  const cm = plane.controllerManager ? ' + kube-controller-manager' : ''
  console.log(`# test control plane: etcd + kube-apiserver${cm} + moto up in ${Date.now() - t0} ms`)
  node = await nodeStart
  const { stop: _nstop, timings, ...nodeInfo } = node
  const nodeFile = join(plane.workDir, 'node.json')
  writeFileSync(nodeFile, JSON.stringify(nodeInfo), { mode: 0o600 })
  process.env[NODE_INFO_ENV] = nodeFile
  const wrapper = node.oomScoreAdjWrapper
    ? ', runc oom_score_adj wrapper (test-node adaptation)'
    : ''
  console.log(
    `# test node: kubelet + containerd + kube-proxy + CoreDNS (${node.cgroupV2 ? 'cgroup v2' : 'cgroup v1'}${wrapper}) up in ${Date.now() - t0} ms: ${JSON.stringify(timings)}`,
  )
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void globalTeardown().finally(() => process.exit(130))
    })
  }
}

export async function globalTeardown(): Promise<void> {
  const p = plane
  const n = node
  plane = undefined
  node = undefined
  await Promise.allSettled([p?.stop(), n?.stop()])
}
