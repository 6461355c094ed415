// Bundles the sidecar into one file, dist/sidecar.mjs, plus its esbuild metafile. The sidecar's
// memory and start-up time are paid by every pod, so it must not pull in the Kubernetes client
// or the STS client: the build fails if either appears among the bundle's inputs.
import { build } from 'esbuild'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
export const SIDECAR_BUNDLE = join(root, 'dist', 'sidecar.mjs')
export const FORBIDDEN_IN_SIDECAR = [
  '@kubernetes/client-node',
  '@aws-sdk/client-sts',
  '@aws-sdk/credential-providers',
] as const

export async function buildSidecar(): Promise<{ bytes: number; inputs: string[] }> {
  mkdirSync(join(root, 'dist'), { recursive: true })
  const result = await build({
    entryPoints: [join(root, 'sidecar', 'entry.ts')],
    outfile: SIDECAR_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    sourcemap: false,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  })
  const inputs = Object.keys(result.metafile.inputs)
  writeFileSync(join(root, 'dist', 'sidecar.meta.json'), JSON.stringify(result.metafile))
  const bad = inputs.filter((i) =>
    FORBIDDEN_IN_SIDECAR.some((pkg) => i.includes(`node_modules/${pkg}/`)),
  )
  if (bad.length > 0) throw new Error(`sidecar bundle must not contain ${bad.join(', ')}`)
  const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs)[0]!]!.bytes
  return { bytes, inputs }
}

if (import.meta.main) {
  const { bytes, inputs } = await buildSidecar()
  console.log(`dist/sidecar.mjs: ${(bytes / 1024).toFixed(1)} KiB from ${inputs.length} inputs`)
}
