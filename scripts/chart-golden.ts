// Golden renders of the Helm chart: `helm template` of each chart/ci/*.yaml, stored as
// chart/golden/<same name>. test/integration/chart.test.ts compares against them;
// `node scripts/chart-golden.ts` (or the test with UPDATE_GOLDEN=1) rewrites them.
//
// Determinism: with brokerTls.mode=generate (the default) Helm's genCA/genSignedCert make a new
// key and certificate on every render, so every PEM block and every base64-encoded PEM is
// replaced by a placeholder before comparing (the test checks the real certificates separately).
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { peerBinaries, repoRoot } from '../test/peers/paths.ts'

const run = promisify(execFile)

export const CHART_DIR = join(repoRoot, 'chart')
export const CI_DIR = join(CHART_DIR, 'ci')
export const GOLDEN_DIR = join(CHART_DIR, 'golden')
/** Release and namespace of the golden renders: the names the programs default to. */
export const GOLDEN_RELEASE = 'iam-sidecar'
export const GOLDEN_NAMESPACE = 'iam-sidecar'

/** The values files under chart/ci, by file name, sorted. */
export function ciValuesFiles(): string[] {
  return readdirSync(CI_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
}

export interface RenderOptions {
  readonly release?: string
  readonly namespace?: string
  /** Values files (paths). */
  readonly values?: readonly string[]
  /** Extra arguments, e.g. ['--set', 'broker.mode=node']. */
  readonly extra?: readonly string[]
}

/** `helm template <release> chart -n <namespace> -f ...`; rejects with helm's stderr. */
export async function helmTemplate(helm: string, o: RenderOptions = {}): Promise<string> {
  const args = [
    'template',
    o.release ?? GOLDEN_RELEASE,
    CHART_DIR,
    '--namespace',
    o.namespace ?? GOLDEN_NAMESPACE,
    ...(o.values ?? []).flatMap((f) => ['--values', f]),
    ...(o.extra ?? []),
  ]
  try {
    const { stdout } = await run(helm, args, { maxBuffer: 32 * 1024 * 1024 })
    return stdout
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`helm ${args.join(' ')} failed: ${e.stderr ?? e.message}`, { cause: err })
  }
}

/** Replaces PEM blocks and base64-encoded PEM (generated anew on every render) by placeholders. */
export function normalizeGenerated(manifest: string): string {
  return manifest
    .replace(
      /-----BEGIN ([A-Z ]+)-----\n(?:[ \t]*[A-Za-z0-9+/=]+\n)+?[ \t]*-----END \1-----/g,
      '<PEM $1>',
    )
    .replace(/\bLS0tLS1CRUdJTi[A-Za-z0-9+/=]+/g, '<base64 PEM>')
}

/**
 * The golden text of one chart/ci values file. A line `# helm-args: ...` in the file adds helm
 * arguments: offline, `helm template` knows no cluster, so a file can say which APIs it has.
 */
export async function renderGolden(helm: string, ciFile: string): Promise<string> {
  const file = join(CI_DIR, ciFile)
  const header = /^# helm-args: (.+)$/m.exec(readFileSync(file, 'utf8'))
  const extra = header ? header[1]!.trim().split(/\s+/) : []
  return normalizeGenerated(await helmTemplate(helm, { values: [file], extra }))
}

export async function writeGoldens(helm: string): Promise<string[]> {
  mkdirSync(GOLDEN_DIR, { recursive: true })
  const written: string[] = []
  for (const file of ciValuesFiles()) {
    writeFileSync(join(GOLDEN_DIR, file), await renderGolden(helm, file))
    written.push(join('chart', 'golden', file))
  }
  return written
}

if (import.meta.main) {
  for (const file of await writeGoldens(peerBinaries().helm)) process.stdout.write(`${file}\n`)
}
