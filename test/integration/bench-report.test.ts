import { it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { README, SVG, panels, renderReadme, renderSvg } from '../../scripts/bench-report.ts'

it('the benchmark plot and README table match bench/results (run `node scripts/bench-report.ts`)', () => {
  const ps = panels()
  assert.equal(readFileSync(SVG, 'utf8'), renderSvg(ps))
  const text = readFileSync(README, 'utf8')
  assert.equal(text, renderReadme(text, ps))
})
