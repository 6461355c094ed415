// Renders the configuration reference tables of README.md from the programs' flag definitions,
// so the docs cannot drift from the code. `node scripts/config-docs.ts` rewrites README.md;
// test/integration/config-docs.test.ts fails when it is stale.
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { BROKER_FLAGS } from '../broker/config.ts'
import { ANNOTATION_DOCS } from '../lib/annotations.ts'
import type { Flag } from '../lib/flags.ts'
import { SIDECAR_FLAGS } from '../sidecar/config.ts'
import { INJECTOR_FLAGS } from '../injector/config.ts'
import { EXPLAIN_FLAGS } from '../injector/explain-main.ts'

export const README = join(resolve(import.meta.dirname, '..'), 'README.md')

const PROGRAMS: Record<string, Record<string, Flag<unknown>>> = {
  sidecar: SIDECAR_FLAGS,
  broker: BROKER_FLAGS,
  injector: INJECTOR_FLAGS,
  explain: EXPLAIN_FLAGS,
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

export function flagTable(flags: Record<string, Flag<unknown>>): string {
  const rows = Object.values(flags).map((f) => {
    const def =
      f.default !== undefined ? `\`${f.default}\`` : f.optional ? '(unset)' : '**required**'
    return `| \`--${f.name}\` | \`${f.env}\` | ${cell(f.type)} | ${def} | ${cell(f.description)} |`
  })
  return ['| Flag | Env | Type | Default | Meaning |', '|---|---|---|---|---|', ...rows].join('\n')
}

export function annotationTable(): string {
  const rows = ANNOTATION_DOCS.map((a) => `| \`${a.key}\` | ${cell(a.on)} | ${cell(a.meaning)} |`)
  return ['| Annotation | On | Meaning |', '|---|---|---|', ...rows].join('\n')
}

/** README.md with every `<!-- flags:NAME -->` … `<!-- /flags:NAME -->` block regenerated. */
export function renderReadme(text: string): string {
  let out = text
  for (const [name, flags] of Object.entries(PROGRAMS)) {
    const re = new RegExp(`(<!-- flags:${name} -->)[\\s\\S]*?(<!-- /flags:${name} -->)`)
    if (!re.test(out)) throw new Error(`README.md lacks the <!-- flags:${name} --> block`)
    out = out.replace(
      re,
      (_m, open: string, close: string) => `${open}\n${flagTable(flags)}\n${close}`,
    )
  }
  const ann = /(<!-- annotations -->)[\s\S]*?(<!-- \/annotations -->)/
  if (!ann.test(out)) throw new Error('README.md lacks the <!-- annotations --> block')
  return out.replace(
    ann,
    (_m, open: string, close: string) => `${open}\n${annotationTable()}\n${close}`,
  )
}

if (import.meta.main) {
  writeFileSync(README, renderReadme(readFileSync(README, 'utf8')))
  console.log('README.md configuration tables regenerated')
}
