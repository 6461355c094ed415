// The caBundle patch, pure: exactly the shared CAs, only where they differ, guarded by the
// resourceVersion read.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { V1MutatingWebhookConfiguration } from '@kubernetes/client-node'
import { makeCa } from '../lib/self-signed.ts'
import { caBundleOf, caBundlePatch, certsInBundle } from './webhook-ca.ts'

const pemOf = async (n: string): Promise<string> =>
  (await makeCa({ commonName: n, days: 1 })).certPem.trim()
const [a, b, c] = [await pemOf('a'), await pemOf('b'), await pemOf('c')]

function mwc(...bundles: (string[] | undefined)[]): V1MutatingWebhookConfiguration {
  return {
    metadata: { name: 'w', resourceVersion: '42' },
    webhooks: bundles.map((pems, i) => ({
      name: `w${i}.example`,
      clientConfig: pems ? { caBundle: caBundleOf(pems) } : {},
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
    })),
  }
}

describe('caBundle patch', () => {
  it('sets every webhook that lacks the bundle, after a test of the resourceVersion', () => {
    const ops = caBundlePatch(mwc(undefined, [a]), [b, a])
    assert.deepEqual(
      ops.map((o) => [o.op, o.path]),
      [
        ['test', '/metadata/resourceVersion'],
        ['add', '/webhooks/0/clientConfig/caBundle'],
        ['add', '/webhooks/1/clientConfig/caBundle'],
      ],
    )
    assert.equal(ops[0]!.value, '42')
    assert.deepEqual(certsInBundle(ops[1]!.value), [b, a])
  })

  it('replaces, never merges: CAs no replica serves from leave the bundle', () => {
    // A bundle from the per-replica CAs of older versions, say.
    const ops = caBundlePatch(mwc([a, b, c]), [c])
    assert.deepEqual(certsInBundle(ops[1]!.value), [c])
  })

  it('writes nothing where the bundle is already exactly right', () => {
    assert.deepEqual(
      caBundlePatch(mwc([a], [b], [a, b]), [a]).map((o) => o.path),
      [
        '/metadata/resourceVersion',
        '/webhooks/1/clientConfig/caBundle',
        '/webhooks/2/clientConfig/caBundle',
      ],
    )
    assert.equal(caBundlePatch(mwc([a], [a]), [a]).length, 1, 'only the test op: no write')
  })

  it('refuses an empty bundle and a configuration without a resourceVersion', () => {
    assert.throws(() => caBundlePatch(mwc([a]), []), /at least one CA/)
    assert.throws(
      () => caBundlePatch({ metadata: { name: 'w' }, webhooks: [] }, [a]),
      /MutatingWebhookConfiguration w has no resourceVersion/,
    )
  })
})
