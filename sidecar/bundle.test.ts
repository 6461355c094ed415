// The sidecar's memory and start-up are paid by every pod: its bundle must stay lean.
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { FORBIDDEN_IN_SIDECAR, SIDECAR_BUNDLE } from '../scripts/build-sidecar.ts'

it('the sidecar bundle contains neither the Kubernetes client nor the STS client', () => {
  const meta = JSON.parse(
    readFileSync(join(SIDECAR_BUNDLE, '..', 'sidecar.meta.json'), 'utf8'),
  ) as { inputs: Record<string, unknown> }
  const inputs = Object.keys(meta.inputs)
  assert.ok(
    inputs.some((i) => i.includes('node_modules/hono/')),
    'hono is bundled (sanity check of the metafile)',
  )
  for (const pkg of [...FORBIDDEN_IN_SIDECAR, '@aws-sdk/', '@smithy/']) {
    assert.deepEqual(
      inputs.filter((i) => i.includes(`node_modules/${pkg}`)),
      [],
      `${pkg} in the sidecar bundle`,
    )
  }
  assert.ok(statSync(SIDECAR_BUNDLE).size < 200 * 1024, 'bundle under 200 KiB')
})
