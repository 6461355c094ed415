// node --test --test-global-setup: one control plane for the whole run, shared by every test
// file through the info file named in IAM_SIDECAR_TEST_CLUSTER (files use fresh namespaces).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startControlPlane, type ControlPlane } from './control-plane.ts'
import { CLUSTER_INFO_ENV } from './cluster.ts'

let plane: ControlPlane | undefined

export async function globalSetup(): Promise<void> {
  const t0 = Date.now()
  plane = await startControlPlane()
  const { stop: _stop, pki: _pki, bins: _bins, ...info } = plane
  const file = join(plane.workDir, 'cluster.json')
  writeFileSync(file, JSON.stringify(info), { mode: 0o600 })
  process.env[CLUSTER_INFO_ENV] = file
  const cm = plane.controllerManager ? ' + kube-controller-manager' : ''
  console.log(`# test control plane: etcd + kube-apiserver${cm} + moto up in ${Date.now() - t0} ms`)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void globalTeardown().finally(() => process.exit(130))
    })
  }
}

export async function globalTeardown(): Promise<void> {
  const p = plane
  plane = undefined
  await p?.stop()
}
