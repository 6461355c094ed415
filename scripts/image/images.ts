// The project's container images, built as OCI archives from this checkout with no container
// engine (scripts/image/oci.ts), into dist/images/<name>.oci.tar:
//   iam-sidecar  the Dockerfile's runtime image, file for file (see below)
//   pause        the kubelet's sandbox image for the test node (a static /pause)
//   sdk-js-v3    the AWS SDK for JavaScript v3 client of test/sdk-clients/js-v3, on the same node
//   sdk-go-v2    the static AWS SDK for Go v2 client of test/sdk-clients/go-v2
//
// iam-sidecar mirrors the Dockerfile's final stage. What the image runs (USER, ENTRYPOINT, CMD,
// WORKDIR, ENV, LABEL) and the launcher script (its printf and chmod) are PARSED from the
// Dockerfile, so there is one place to change them; what the build stage copies (the cp -R list,
// the find that drops tests, chmod a+rX,go-w) is reproduced in code below, and
// test/integration/image.test.ts checks it against the Dockerfile. The distroless base
// (gcr.io/distroless/nodejs24-debian12) is Debian 12, as is the machine this runs on: node's
// shared libraries are copied from the host, found with ldd, to the paths ldd reports.
//
// An archive whose inputs did not change is not rebuilt: a hash of every input (file contents,
// modes, config) is recorded next to it in <name>.oci.tar.inputs.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { buildSidecar, SIDECAR_BUNDLE } from '../build-sidecar.ts'
import { cacheRoot, clientDir, installed } from '../../test/sdk-clients/clients.ts'
import { cacheRoot as peersCacheRoot, peerVersions, repoRoot } from '../../test/peers/paths.ts'
import {
  imageKey,
  writeOciArchive,
  type Compression,
  type ImageSpec,
  type Layer,
  type LayerEntry,
  type RuntimeConfig,
} from './oci.ts'

export const IMAGES_DIR = join(repoRoot, 'dist', 'images')
const VERSION = (
  JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }
).version

/** The chart's default image: `repository: iam-sidecar` and the appVersion tag, normalized. */
export const IAM_SIDECAR_IMAGE = `docker.io/library/iam-sidecar:${VERSION}`
/** The sandbox image the test node's kubelet and containerd are configured with. */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10-iam-sidecar-test'
export const SDK_JS_V3_IMAGE = 'docker.io/library/iam-sidecar-sdk-js-v3:test'
export const SDK_GO_V2_IMAGE = 'docker.io/library/iam-sidecar-sdk-go-v2:test'

export const IMAGE_NAMES = ['iam-sidecar', 'pause', 'sdk-js-v3', 'sdk-go-v2'] as const
export type ImageName = (typeof IMAGE_NAMES)[number]

/** An input the image needs is not built yet; the message names the command that builds it. */
export class MissingInputError extends Error {}

// ---------------------------------------------------------------------------------------------
// The Dockerfile: instructions, the final stage's runtime config and the launcher it writes.

type Instruction = { keyword: string; args: string }

/** The Dockerfile's instructions, continuation lines joined and comment lines dropped. */
export function dockerfileInstructions(text: string): Instruction[] {
  const out: Instruction[] = []
  let current = ''
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line) || (current === '' && line.trim() === '')) continue
    const continued = /\\\s*$/.test(line)
    current += continued ? line.replace(/\\\s*$/, '') : line
    if (continued) continue
    const m = /^\s*(\w+)\s+([\s\S]*?)\s*$/.exec(current)
    if (!m) throw new Error(`cannot parse Dockerfile line: ${current}`)
    out.push({ keyword: m[1]!.toUpperCase(), args: m[2]! })
    current = ''
  }
  return out
}

/** The end of the double-quoted string opening at `open`, and its value (\\ \" \$ \` escapes). */
function doubleQuoted(text: string, open: number): { end: number; value: string } {
  let value = ''
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i]!
    if (c === '"') return { end: i, value }
    if (c === '$' || c === '`') throw new Error(`expansions are not supported: ${text}`)
    if (c === '\\' && '\\"$`'.includes(text[i + 1] ?? '')) value += text[++i]
    else value += c
  }
  throw new Error(`unterminated double quote in: ${text}`)
}

/** The piece of a word that starts at text[i]: a quoted string, an escaped or a plain character. */
function wordPart(text: string, i: number): { end: number; value: string } {
  const c = text[i]!
  if (c === "'") {
    const end = text.indexOf("'", i + 1)
    if (end < 0) throw new Error(`unterminated single quote in: ${text}`)
    return { end, value: text.slice(i + 1, end) }
  }
  if (c === '"') return doubleQuoted(text, i)
  if (c === '$' || c === '`') throw new Error(`expansions are not supported: ${text}`)
  if (c === '\\') return { end: i + 1, value: text[i + 1] ?? '' }
  return { end: i, value: c }
}

/** Splits shell words: '...' literal, "..." with escapes, \\x; no expansions ($, `). */
export function shellWords(text: string): string[] {
  const words: string[] = []
  let word: string | undefined
  for (let i = 0; i < text.length; i++) {
    if (/\s/.test(text[i]!)) {
      if (word !== undefined) words.push(word)
      word = undefined
    } else {
      const part = wordPart(text, i)
      word = (word ?? '') + part.value
      i = part.end
    }
  }
  if (word !== undefined) words.push(word)
  return words
}

function keyValues(args: string): [string, string][] {
  return shellWords(args).map((word) => {
    const eq = word.indexOf('=')
    if (eq <= 0) throw new Error(`expected key=value in Dockerfile, got ${word}`)
    return [word.slice(0, eq), word.slice(eq + 1)]
  })
}

function execForm(keyword: string, args: string): string[] {
  const parsed: unknown = JSON.parse(args)
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string'))
    throw new Error(`${keyword} must be in exec form (a JSON array of strings)`)
  return parsed as string[]
}

/** The runtime config of the Dockerfile's final stage (its base image sets none we keep). */
export function dockerfileRuntimeConfig(text: string): RuntimeConfig {
  const all = dockerfileInstructions(text)
  const stage = all.slice(all.map((i) => i.keyword).lastIndexOf('FROM') + 1)
  const config: RuntimeConfig = { User: '', Env: [], Entrypoint: [], Labels: {} }
  for (const { keyword, args } of stage) {
    if (keyword === 'USER') config.User = args
    else if (keyword === 'WORKDIR') config.WorkingDir = args
    else if (keyword === 'ENTRYPOINT') config.Entrypoint = execForm(keyword, args)
    else if (keyword === 'CMD') config.Cmd = execForm(keyword, args)
    else if (keyword === 'LABEL') Object.assign(config.Labels!, Object.fromEntries(keyValues(args)))
    else if (keyword === 'ENV')
      for (const [k, v] of keyValues(args)) {
        config.Env = [...config.Env.filter((e) => !e.startsWith(`${k}=`)), `${k}=${v}`]
      }
  }
  if (config.User === '' || config.Entrypoint.length === 0)
    throw new Error('the Dockerfile final stage lacks USER or ENTRYPOINT')
  return config
}

const LAUNCHER_OUT = '/out/usr/local/bin/iam-sidecar'

/** The launcher the build stage writes (`printf '%s\n' LINE... > /out/...`) and its chmod. */
export function dockerfileLauncher(text: string): { path: string; content: string; mode: number } {
  const run = dockerfileInstructions(text).find(
    (i) => i.keyword === 'RUN' && i.args.includes(`> ${LAUNCHER_OUT}`),
  )
  const printf = run?.args.indexOf("printf '%s\\n'") ?? -1
  const chmod = run && new RegExp(`chmod (0?[0-7]{3,4}) ${LAUNCHER_OUT}(\\s|$)`).exec(run.args)
  if (!run || printf < 0 || !chmod)
    throw new Error(`the Dockerfile no longer writes ${LAUNCHER_OUT} with printf and chmod`)
  const words = run.args.slice(
    printf + "printf '%s\\n'".length,
    run.args.indexOf(`> ${LAUNCHER_OUT}`),
  )
  const content = shellWords(words)
    .map((line) => `${line}\n`)
    .join('')
  return { path: LAUNCHER_OUT.slice('/out'.length), content, mode: parseInt(chmod[1]!, 8) }
}

// ---------------------------------------------------------------------------------------------
// Layers.

/** `chmod a+rX,go-w`: readable by all, executable by all if by anyone, writable by owner only. */
export const readOnlyMode = (mode: number, dir = false): number =>
  ((mode & 0o7777) | 0o444 | (dir || mode & 0o111 ? 0o111 : 0)) & ~0o022

/**
 * A folder copied as `cp -R` would (symlinks kept), modes made read-only for others, leaving out
 * any entry the filter rejects (by name).
 */
function treeEntries(src: string, dest: string, keep: (name: string) => boolean): LayerEntry[] {
  const out: LayerEntry[] = [
    { path: dest, mode: readOnlyMode(statSync(src).mode, true), dir: true },
  ]
  for (const entry of readdirSync(src, { withFileTypes: true })) {
    if (!keep(entry.name)) continue
    const [from, to] = [join(src, entry.name), `${dest}/${entry.name}`]
    if (entry.isDirectory()) out.push(...treeEntries(from, to, keep))
    else if (entry.isSymbolicLink()) out.push({ path: to, symlink: readlinkSync(from) })
    else if (entry.isFile())
      out.push({ path: to, mode: readOnlyMode(lstatSync(from).mode), source: from })
    else throw new Error(`${from}: only files, folders and symlinks can go into an image`)
  }
  return out
}

/** The shared libraries a binary loads, as ldd resolves them here (with the ELF interpreter). */
function sharedLibraries(binary: string): string[] {
  const r = spawnSync('ldd', [binary], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`ldd ${binary} failed: ${r.stderr || r.error?.message}`)
  const libs: string[] = []
  for (const line of r.stdout.split('\n')) {
    if (line.includes('not found')) throw new Error(`ldd ${binary}: ${line.trim()}`)
    const path = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1]
    if (path) libs.push(path)
  }
  if (!libs.some((l) => l.includes('ld-linux'))) throw new Error(`ldd ${binary}: no interpreter`)
  return libs
}

const fileEntry = (path: string, source: string): LayerEntry => {
  const real = realpathSync(source)
  return { path, mode: readOnlyMode(statSync(real).mode), source: real }
}

// Once per process: node, its libraries and the lockfile-keyed dependencies do not change while
// images are built, and sharing one Layer object lets oci.ts hash it once for every image.
const memo = <T>(make: () => T): (() => T) => {
  let value: T | undefined
  return () => (value ??= make())
}

/** Node at /nodejs/bin/node (where distroless keeps it) and the libraries it loads. */
const nodeLayer = memo((): Layer => {
  const node = join(repoRoot, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(node)) throw new MissingInputError(`${node} is missing: run \`npm ci\``)
  const libs = sharedLibraries(node).map((lib) => fileEntry(lib, lib))
  return {
    name: 'node 24 and its shared libraries',
    entries: [fileEntry('/nodejs/bin/node', node), ...libs],
  }
})

const PASSWD = [
  'root:x:0:0:root:/root:/sbin/nologin',
  'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin',
]
const GROUP = ['root:x:0:', 'nonroot:x:65532:']
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'

/** What the distroless base provides besides node: users, name lookup order, CAs, /tmp. */
const baseLayer = memo((): Layer => {
  const entries: LayerEntry[] = [
    { path: '/etc/passwd', mode: 0o644, content: `${PASSWD.join('\n')}\n` },
    { path: '/etc/group', mode: 0o644, content: `${GROUP.join('\n')}\n` },
    { path: '/etc/nsswitch.conf', mode: 0o644, content: 'hosts: files dns\n' },
    { path: '/tmp', mode: 0o1777, dir: true },
  ]
  if (existsSync(CA_BUNDLE)) entries.push(fileEntry(CA_BUNDLE, CA_BUNDLE))
  return { name: 'users, nsswitch.conf, CA certificates, /tmp', entries }
})

/**
 * The production dependencies (`npm ci --omit=dev`), installed once per package-lock.json in a
 * staging copy under the per-user cache, then reused: <cache>/image-deps/<lock sha256>/.
 */
export function productionDeps(): string {
  const lock = readFileSync(join(repoRoot, 'package-lock.json'))
  const dir = join(cacheRoot(), 'image-deps', createHash('sha256').update(lock).digest('hex'))
  if (existsSync(join(dir, '.complete'))) return join(dir, 'node_modules')
  const staging = `${dir}.staging.${process.pid}`
  rmSync(staging, { recursive: true, force: true })
  mkdirSync(staging, { recursive: true })
  for (const f of ['package.json', 'package-lock.json']) {
    writeFileSync(join(staging, f), readFileSync(join(repoRoot, f)))
  }
  const args = ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund']
  const r = spawnSync('npm', [...args, '--prefer-offline', '--loglevel=error'], {
    cwd: staging,
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed in ${staging}`)
  writeFileSync(join(staging, '.complete'), '')
  try {
    renameSync(staging, dir)
  } catch (err) {
    // Another build finished first: use its copy.
    rmSync(staging, { recursive: true, force: true })
    if (!existsSync(join(dir, '.complete'))) throw err
  }
  return join(dir, 'node_modules')
}

/** /app/node_modules, shared by iam-sidecar and sdk-js-v3. */
const depsLayer = memo((): Layer => ({
  name: 'production node_modules',
  entries: treeEntries(productionDeps(), '/app/node_modules', () => true),
}))

/** The folders the Dockerfile copies into /app (`cp -R package.json node_modules ... /out/app/`). */
export const APP_SOURCE_DIRS = ['bin', 'lib', 'broker', 'injector', 'sidecar'] as const
/** What the Dockerfile's find removes from them. */
const isShipped = (name: string): boolean => !name.endsWith('.test.ts') && name !== 'testdata'

async function appLayer(): Promise<Layer> {
  await buildSidecar()
  const launcher = dockerfileLauncher(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'))
  const entries: LayerEntry[] = [
    { path: launcher.path, mode: launcher.mode, content: launcher.content },
    { path: '/app', mode: 0o755, dir: true },
    { path: '/app/dist', mode: 0o755, dir: true },
    fileEntry('/app/dist/sidecar.mjs', SIDECAR_BUNDLE),
    fileEntry('/app/package.json', join(repoRoot, 'package.json')),
  ]
  for (const dir of APP_SOURCE_DIRS)
    entries.push(...treeEntries(join(repoRoot, dir), `/app/${dir}`, isShipped))
  return { name: 'the launcher and /app: sources, sidecar bundle', entries }
}

// ---------------------------------------------------------------------------------------------
// The images.

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The pause binary scripts/peers/pause.sh builds (nodeBinaries().pause, without the rest). */
function pauseBinary(): string {
  const path = join(peersCacheRoot(), 'peers', `pause-${peerVersions().kubernetes}`, 'bin', 'pause')
  if (!existsSync(path))
    throw new MissingInputError(`the pause binary is missing at ${path}: run \`npm run peers\``)
  return path
}

function goClient(): string {
  const path = join(clientDir('go-v2'), 'sts-client')
  if (!installed('go-v2') || !existsSync(path))
    throw new MissingInputError(
      `the Go SDK client is missing at ${path}: run \`bash scripts/sdk-clients/install.sh go-v2\``,
    )
  return path
}

const DEFINITIONS: Record<ImageName, () => Promise<ImageSpec>> = {
  'iam-sidecar': async () => ({
    reference: IAM_SIDECAR_IMAGE,
    layers: [nodeLayer(), baseLayer(), depsLayer(), await appLayer()],
    config: dockerfileRuntimeConfig(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')),
  }),
  pause: async () => ({
    reference: PAUSE_IMAGE,
    layers: [{ name: 'pause', entries: [fileEntry('/pause', pauseBinary())] }],
    config: { User: '65535:65535', Env: [DEFAULT_PATH], Entrypoint: ['/pause'] },
  }),
  'sdk-js-v3': async () => {
    const client = join(repoRoot, 'test', 'sdk-clients', 'js-v3', 'client.mjs')
    const app = [
      fileEntry('/app/client.mjs', client),
      fileEntry('/app/package.json', join(repoRoot, 'package.json')),
    ]
    return {
      reference: SDK_JS_V3_IMAGE,
      layers: [nodeLayer(), baseLayer(), depsLayer(), { name: 'the js-v3 client', entries: app }],
      config: {
        User: '1000:1000',
        Env: [`PATH=/nodejs/bin:${DEFAULT_PATH.slice('PATH='.length)}`],
        Entrypoint: ['/nodejs/bin/node', '/app/client.mjs'],
        WorkingDir: '/app',
      },
    }
  },
  'sdk-go-v2': async () => ({
    reference: SDK_GO_V2_IMAGE,
    layers: [
      baseLayer(),
      { name: 'the go-v2 client', entries: [fileEntry('/sts-client', goClient())] },
    ],
    config: { User: '1000:1000', Env: [DEFAULT_PATH], Entrypoint: ['/sts-client'] },
  }),
}

/** The image's definition, its inputs prepared (the sidecar bundle, the production deps). */
export async function imageSpec(name: ImageName): Promise<ImageSpec> {
  const define = DEFINITIONS[name]
  if (!define) throw new Error(`unknown image ${name}; known: ${IMAGE_NAMES.join(', ')}`)
  return define()
}

export type BuiltImage = {
  name: ImageName
  reference: string
  file: string
  bytes: number
  seconds: number
  /** False when the archive was already there for the same inputs. */
  built: boolean
}

export type BuildOptions = { compression?: Compression; outDir?: string; force?: boolean }

/**
 * Builds the named images (default: all) into dist/images/<name>.oci.tar, skipping an archive
 * whose recorded input hash matches. Throws MissingInputError when an image's input is not built.
 */
export async function buildImages(
  names: readonly ImageName[] = IMAGE_NAMES,
  options: BuildOptions = {},
): Promise<BuiltImage[]> {
  const { compression = 'none', outDir = IMAGES_DIR, force = false } = options
  mkdirSync(outDir, { recursive: true })
  const results: BuiltImage[] = []
  for (const name of names) {
    const start = performance.now()
    const spec = await imageSpec(name)
    const file = join(outDir, `${name}.oci.tar`)
    const key = imageKey(spec, compression)
    const recorded = `${file}.inputs`
    const upToDate =
      !force && existsSync(file) && existsSync(recorded) && readFileSync(recorded, 'utf8') === key
    if (!upToDate) {
      rmSync(recorded, { force: true })
      await writeOciArchive(spec, file, compression)
      writeFileSync(`${recorded}.${process.pid}`, key)
      renameSync(`${recorded}.${process.pid}`, recorded)
    }
    const seconds = (performance.now() - start) / 1000
    results.push({
      name,
      reference: spec.reference,
      file,
      bytes: statSync(file).size,
      seconds,
      built: !upToDate,
    })
  }
  return results
}
