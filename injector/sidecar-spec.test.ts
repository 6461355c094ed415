import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { loadInjectorConfig } from './config.ts'
import { sidecarSpec } from './sidecar-spec.ts'
import { POD_LAYOUT as L } from '../lib/sidecar-pod-layout.ts'

const caVolume = (args: string[]) =>
  sidecarSpec(loadInjectorConfig(['--tls-self-bootstrap=true', ...args], {})).volumes.find(
    (v) => v.name === L.brokerCaVolume,
  )!

describe('the broker CA volume', () => {
  it('projects the ClusterTrustBundle when one is named (nothing per namespace)', () => {
    const v = caVolume(['--broker-ca-cluster-trust-bundle=iam-sidecar-broker-ca'])
    assert.deepEqual(v.projected?.sources, [
      { clusterTrustBundle: { name: 'iam-sidecar-broker-ca', path: 'ca.crt' } },
    ])
    assert.equal(v.configMap, undefined)
  })

  it('mounts the per-namespace ConfigMap otherwise (clusters without ClusterTrustBundles)', () => {
    const v = caVolume(['--broker-ca-configmap=my-ca'])
    assert.deepEqual(v.configMap, { name: 'my-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] })
    assert.equal(v.projected, undefined)
  })
})
