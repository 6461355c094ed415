import { it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { README, renderReadme } from '../../scripts/config-docs.ts'

it('the README configuration reference matches the flag definitions (run `node scripts/config-docs.ts`)', () => {
  const text = readFileSync(README, 'utf8')
  assert.equal(text, renderReadme(text))
})
