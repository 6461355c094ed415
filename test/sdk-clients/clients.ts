// The real AWS SDK client programs that the SDK-compatibility tests run, one process per call.
//
// Each client's source and exact version pins live in test/sdk-clients/<id>/ (go.mod, pom.xml,
// Cargo.toml + Cargo.lock, requirements.txt, package.json + package-lock.json).
// scripts/sdk-clients/install.sh builds them into the per-user cache, in a folder named
// <id>-<sdk version>-<hash of the client's source folder and build recipe>, and asks this module
// (`node test/sdk-clients/clients.ts plan`) for that folder, so the key is computed in one place
// only. A version bump or source edit changes the folder name: a stale build is never used.
//
// Every client takes its configuration only from the environment (AWS_CONTAINER_CREDENTIALS_FULL_URI,
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, AWS_REGION / AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_STS),
// calls sts:GetCallerIdentity with its SDK's default credential chain and prints one ARN per
// line. With IAM_SIDECAR_CLIENT_LOOP=<n> and IAM_SIDECAR_CLIENT_INTERVAL_MS=<ms> it keeps one
// SDK client alive for n calls (where supportsLoop is true).
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export type SdkClient = {
  id: string
  sdk: string
  version: string
  supportsLoop: boolean
  command(): { cmd: string; args: string[] }
}

type Spec = {
  id: string
  sdk: string
  supportsLoop: boolean
  // Bump when install.sh builds this client differently, so cached builds are redone.
  recipe: number
  // Reads the pinned SDK version from the client's source folder.
  version(src: string): string
  // The command, given the client's cache folder (or source folder for js-v3).
  command(dir: string): { cmd: string; args: string[] }
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SOURCES = join(ROOT, 'test', 'sdk-clients')

/** The per-user cache root, the same rule as scripts/peers/lib.sh. */
export function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return process.env.IAM_SIDECAR_CACHE_DIR || join(xdg, 'iam-sidecar')
}

const read = (path: string): string => readFileSync(path, 'utf8')

function match(text: string, re: RegExp, what: string): string {
  const found = re.exec(text)?.[1]
  if (!found) throw new Error(`cannot find the pinned version of ${what}`)
  return found
}

function jsV3Version(): string {
  const installed = join(ROOT, 'node_modules', '@aws-sdk', 'client-sts', 'package.json')
  if (existsSync(installed)) return (JSON.parse(read(installed)) as { version: string }).version
  const pkg = JSON.parse(read(join(ROOT, 'package.json'))) as {
    dependencies: Record<string, string>
  }
  return pkg.dependencies['@aws-sdk/client-sts'] ?? 'unknown'
}

const python = (dir: string, ...args: string[]): { cmd: string; args: string[] } => ({
  cmd: join(dir, 'venv', 'bin', 'python'),
  args,
})

const SPECS: readonly Spec[] = [
  {
    id: 'js-v3',
    sdk: '@aws-sdk/client-sts',
    supportsLoop: true,
    recipe: 1,
    version: jsV3Version,
    // Runs from the repo: the SDK is the project's own dependency. Node is the one running us.
    command: (src) => ({ cmd: process.execPath, args: [join(src, 'client.mjs')] }),
  },
  {
    id: 'js-v2',
    sdk: 'aws-sdk',
    supportsLoop: true,
    recipe: 1,
    version: (src) =>
      (JSON.parse(read(join(src, 'package.json'))) as { dependencies: Record<string, string> })
        .dependencies['aws-sdk'] ?? 'unknown',
    command: (dir) => ({ cmd: process.execPath, args: [join(dir, 'client.mjs')] }),
  },
  {
    id: 'python-boto3',
    sdk: 'boto3',
    supportsLoop: true,
    recipe: 1,
    version: (src) => match(read(join(src, 'requirements.txt')), /^boto3==(\S+)/m, 'boto3'),
    command: (dir) => python(dir, join(dir, 'client.py')),
  },
  {
    id: 'awscli',
    sdk: 'awscli',
    // One CLI invocation is one process; there is no long-lived client to keep.
    supportsLoop: false,
    recipe: 1,
    version: (src) => match(read(join(src, 'requirements.txt')), /^awscli==(\S+)/m, 'awscli'),
    // `python -m awscli` is the `aws` command; the venv was moved from staging, so its console
    // scripts' shebangs point at the staging path and are not used.
    command: (dir) =>
      python(
        dir,
        '-m',
        'awscli',
        'sts',
        'get-caller-identity',
        '--query',
        'Arn',
        '--output',
        'text',
      ),
  },
  {
    id: 'go-v2',
    sdk: 'github.com/aws/aws-sdk-go-v2/service/sts',
    supportsLoop: true,
    recipe: 1,
    version: (src) =>
      match(read(join(src, 'go.mod')), /aws-sdk-go-v2\/service\/sts (v\S+)/, 'aws-sdk-go-v2 sts'),
    command: (dir) => ({ cmd: join(dir, 'sts-client'), args: [] }),
  },
  {
    id: 'java-v2',
    sdk: 'software.amazon.awssdk:sts',
    supportsLoop: true,
    recipe: 1,
    version: (src) =>
      match(read(join(src, 'pom.xml')), /<awssdk\.version>([^<]+)</, 'AWS SDK for Java v2'),
    // C1 only and the serial GC: a short-lived client starts faster on a small machine.
    command: (dir) => ({
      cmd: 'java',
      args: ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-jar', join(dir, 'sts-client.jar')],
    }),
  },
  {
    id: 'rust',
    sdk: 'aws-sdk-sts',
    supportsLoop: true,
    recipe: 1,
    version: (src) =>
      match(read(join(src, 'Cargo.toml')), /^aws-sdk-sts = "=([^"]+)"/m, 'aws-sdk-sts'),
    command: (dir) => ({ cmd: join(dir, 'sts-client'), args: [] }),
  },
]

// Build outputs that may appear if someone builds in the source folder; never part of the key.
const IGNORED = new Set(['target', 'node_modules', '__pycache__', '.venv'])

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = []
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    if (IGNORED.has(entry.name)) continue
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) out.push(...listFiles(dir, rel))
    else if (entry.isFile()) out.push(rel)
  }
  return out
}

/** A short hash of every file in the client's source folder (path and content) and its recipe. */
function sourceHash(spec: Spec, src: string): string {
  const hash = createHash('sha256').update(`recipe ${spec.recipe}\n`)
  for (const rel of listFiles(src).sort()) {
    const content = createHash('sha256')
      .update(readFileSync(join(src, rel)))
      .digest('hex')
    hash.update(`${rel}\0${content}\n`)
  }
  return hash.digest('hex').slice(0, 12)
}

type Resolved = { spec: Spec; version: string; src: string; dir: string }
const resolved = new Map<string, Resolved>()

function resolve(id: string): Resolved {
  const cached = resolved.get(id)
  if (cached) return cached
  const spec = SPECS.find((s) => s.id === id)
  if (!spec) throw new Error(`unknown SDK client: ${id}`)
  const src = join(SOURCES, id)
  const version = spec.version(src)
  const dir =
    id === 'js-v3'
      ? src
      : join(cacheRoot(), 'sdk-clients', `${id}-${version}-${sourceHash(spec, src)}`)
  const result = { spec, version, src, dir }
  resolved.set(id, result)
  return result
}

/** The folder the client runs from: its cache folder (js-v3: its source folder in the repo). */
export function clientDir(id: string): string {
  return resolve(id).dir
}

/** True when the client's current build (this version and source) is in the cache. */
export function installed(id: string): boolean {
  const { dir } = resolve(id)
  if (id === 'js-v3') return existsSync(join(ROOT, 'node_modules', '@aws-sdk', 'client-sts'))
  return existsSync(join(dir, '.complete'))
}

export const sdkClients: readonly SdkClient[] = SPECS.map((spec) => ({
  id: spec.id,
  sdk: spec.sdk,
  get version() {
    return resolve(spec.id).version
  },
  supportsLoop: spec.supportsLoop,
  command: () => spec.command(resolve(spec.id).dir),
}))

// `node test/sdk-clients/clients.ts plan [id...]`: one line per client for install.sh,
// "<id> <version> <cache folder> <source folder>", tab-separated.
if (import.meta.main) {
  const [verb, ...ids] = process.argv.slice(2)
  if (verb !== 'plan') {
    console.error('usage: node test/sdk-clients/clients.ts plan [id...]')
    process.exit(2)
  }
  try {
    for (const id of ids.length > 0 ? ids : SPECS.map((s) => s.id)) {
      const { version, dir, src } = resolve(id)
      console.log([id, version, dir, src].join('\t'))
    }
  } catch (err) {
    console.error((err as Error).message)
    process.exit(2)
  }
}
