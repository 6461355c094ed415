// The Dockerfile itself is not run here (no container engine): it is linted with hadolint and
// checked for what the chart and the injector rely on. `npm run image` builds the same image
// without an engine, and test/integration/image.test.ts checks that the two agree.
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SIDECAR_BUNDLE_IN_IMAGE } from '../../lib/sidecar-pod-layout.ts'
import { peerBinary, repoRoot } from '../peers/paths.ts'

const dockerfile = join(repoRoot, 'Dockerfile')

it('passes hadolint', () => {
  const r = spawnSync(peerBinary('hadolint'), ['--failure-threshold', 'style', dockerfile], {
    encoding: 'utf8',
  })
  assert.equal(r.status, 0, r.stdout + r.stderr)
})

it('runs as non-root, from Node 24, with the sidecar bundle where the injector expects it', () => {
  const text = readFileSync(dockerfile, 'utf8')
  assert.match(text, /^ARG BUILD_IMAGE=node:24[\w.-]*$/m)
  assert.match(text, /^ARG RUNTIME_IMAGE=\S*nodejs24\S*$/m)
  assert.match(text, /^USER 65532(:65532)?$/m)
  assert.ok(text.includes(SIDECAR_BUNDLE_IN_IMAGE.replace('/app/', '')), 'copies dist/sidecar.mjs')
  assert.doesNotMatch(text, /^USER (root|0)\s*$/m)
})
