// The iam-sidecar OCI archive (scripts/image/) against the Dockerfile it stands in for. What the
// Dockerfile says is read here with plain regular expressions (and its launcher printf run through
// sh), not with the builder's parser, and the archive is read with a tar reader of this file's own
// and GNU tar, so a mistake in the builder shows up as a difference.
import { after, before, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { parse } from 'yaml'
import { SIDECAR_BUNDLE } from '../../scripts/build-sidecar.ts'
import { buildImages, type BuiltImage } from '../../scripts/image/images.ts'
import { writeOciArchive, type ImageSpec } from '../../scripts/image/oci.ts'
import { repoRoot } from '../peers/paths.ts'

type TarItem = {
  name: string
  type: string
  mode: number
  uid: number
  gid: number
  linkname: string
  data: Buffer
}

const field = (block: Buffer, start: number, length: number): string =>
  block
    .subarray(start, start + length)
    .toString('utf8')
    .replace(/\0.*$/s, '')

function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {}
  for (let at = 0; at < data.length;) {
    const space = data.indexOf(0x20, at)
    const length = Number(data.subarray(at, space).toString())
    const record = data.subarray(space + 1, at + length - 1).toString('utf8')
    out[record.slice(0, record.indexOf('='))] = record.slice(record.indexOf('=') + 1)
    at += length
  }
  return out
}

/** A ustar + PAX reader: every entry with its header fields and its bytes. */
function readTar(buf: Buffer): TarItem[] {
  const items: TarItem[] = []
  let pax: Record<string, string> = {}
  for (let at = 0; at + 512 <= buf.length;) {
    const block = buf.subarray(at, at + 512)
    if (block.every((b) => b === 0)) break
    let sum = 0
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!
    assert.equal(Number.parseInt(field(block, 148, 8), 8), sum, `header checksum at ${at}`)
    assert.equal(field(block, 257, 6), 'ustar', 'ustar magic')
    const type = field(block, 156, 1)
    const size = Number(pax.size ?? Number.parseInt(field(block, 124, 12), 8))
    const data = buf.subarray(at + 512, at + 512 + size)
    at += 512 + Math.ceil(size / 512) * 512
    if (type === 'x') {
      pax = paxRecords(data)
      continue
    }
    items.push({
      name: pax.path ?? field(block, 0, 100),
      type,
      mode: Number.parseInt(field(block, 100, 8), 8),
      uid: Number.parseInt(field(block, 108, 8), 8),
      gid: Number.parseInt(field(block, 116, 8), 8),
      linkname: pax.linkpath ?? field(block, 157, 100),
      data,
    })
    pax = {}
  }
  return items
}

const sha256 = (data: Buffer | string): string =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`

type Descriptor = { mediaType: string; digest: string; size: number }
type Archive = {
  blobs: Map<string, Buffer>
  files: Map<string, Buffer>
  index: {
    manifests: (Descriptor & { annotations: Record<string, string>; platform: object })[]
  }
  manifest: { config: Descriptor; layers: Descriptor[] }
  config: {
    architecture: string
    os: string
    config: Record<string, unknown> & { Env: string[]; Labels: Record<string, string> }
    rootfs: { diff_ids: string[] }
  }
  layers: TarItem[][]
  /** Every path in the image, with the entry of the last layer that has it. */
  fs: Map<string, TarItem>
}

function openArchive(file: string): Archive {
  const files = new Map(readTar(readFileSync(file)).map((i) => [i.name, i.data]))
  const blobs = new Map<string, Buffer>()
  for (const [name, data] of files) {
    const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name)
    if (m) blobs.set(`sha256:${m[1]}`, data)
  }
  const json = (digest: string) => JSON.parse(blobs.get(digest)!.toString('utf8'))
  const index = JSON.parse(files.get('index.json')!.toString('utf8')) as Archive['index']
  const manifest = json(index.manifests[0]!.digest) as Archive['manifest']
  const config = json(manifest.config.digest) as Archive['config']
  const layers = manifest.layers.map((l) => {
    const blob = blobs.get(l.digest)!
    return readTar(l.mediaType.endsWith('+gzip') ? gunzipSync(blob) : blob)
  })
  const fs = new Map<string, TarItem>()
  for (const item of layers.flat()) fs.set(item.name.replace(/\/$/, ''), item)
  return { blobs, files, index, manifest, config, layers, fs }
}

const work = mkdtempSync(join(tmpdir(), 'iam-sidecar-image-'))
after(() => rmSync(work, { recursive: true, force: true }))

const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')
const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
function fromDockerfile(re: RegExp, text = finalStage): string {
  const m = re.exec(text)
  assert.ok(m, `the Dockerfile has ${re}`)
  return m[1]!
}

let built: BuiltImage
let image: Archive
before(async () => {
  const [result] = await buildImages(['iam-sidecar'])
  built = result!
  image = openArchive(built.file)
})

it('is named as the chart default image resolves: iam-sidecar, tag appVersion', () => {
  const chart = parse(readFileSync(join(repoRoot, 'chart', 'Chart.yaml'), 'utf8'))
  const values = parse(readFileSync(join(repoRoot, 'chart', 'values.yaml'), 'utf8'))
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'))
  assert.equal(chart.appVersion, pkg.version)
  assert.equal(values.image.repository, 'iam-sidecar')
  const reference = `docker.io/library/${values.image.repository}:${chart.appVersion}`
  assert.equal(built.reference, reference)
  assert.equal(image.index.manifests.length, 1)
  assert.deepEqual(image.index.manifests[0]!.annotations, {
    'io.containerd.image.name': reference,
    'org.opencontainers.image.ref.name': chart.appVersion,
  })
  assert.deepEqual(image.index.manifests[0]!.platform, { architecture: 'amd64', os: 'linux' })
  assert.equal(image.config.architecture, 'amd64')
  assert.equal(image.config.os, 'linux')
  assert.equal(image.files.get('oci-layout')!.toString(), '{"imageLayoutVersion":"1.0.0"}')
})

it('has digests and sizes in index, manifest and config that match the blobs', () => {
  for (const [digest, data] of image.blobs) assert.equal(sha256(data), digest)
  const check = (d: Descriptor) => {
    const blob = image.blobs.get(d.digest)
    assert.ok(blob, `blob ${d.digest} is in the archive`)
    assert.equal(blob.length, d.size, `size of ${d.digest}`)
  }
  const m = image.index.manifests[0]!
  check(m)
  assert.equal(m.mediaType, 'application/vnd.oci.image.manifest.v1+json')
  check(image.manifest.config)
  image.manifest.layers.forEach(check)
  assert.equal(image.blobs.size, 2 + image.manifest.layers.length, 'no stray blobs')
  const diffIds = image.manifest.layers.map((l) => {
    const blob = image.blobs.get(l.digest)!
    return sha256(l.mediaType.endsWith('+gzip') ? gunzipSync(blob) : blob)
  })
  assert.deepEqual(image.config.rootfs.diff_ids, diffIds)
})

it('runs what the Dockerfile final stage runs: user, entrypoint, cmd, workdir, PATH, labels', () => {
  const c = image.config.config
  assert.equal(c.User, fromDockerfile(/^USER (\S+)\s*$/m))
  assert.deepEqual(c.Entrypoint, JSON.parse(fromDockerfile(/^ENTRYPOINT (\[.*\])\s*$/m)))
  assert.deepEqual(c.Cmd, JSON.parse(fromDockerfile(/^CMD (\[.*\])\s*$/m)))
  assert.equal(c.WorkingDir, fromDockerfile(/^WORKDIR (\S+)\s*$/m))
  assert.deepEqual(c.Env, [`PATH=${fromDockerfile(/^ENV PATH=(\S+)\s*$/m)}`])
  const labelBlock = fromDockerfile(/^LABEL ((?:.*\\\n)*.*)$/m)
  const labels = Object.fromEntries(
    [...labelBlock.matchAll(/([\w.-]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
  )
  assert.ok(Object.keys(labels).length >= 3)
  assert.deepEqual(c.Labels, labels)
  // The user is the base image's nonroot user, which the image's /etc/passwd must name.
  const passwd = image.fs.get('etc/passwd')!.data.toString()
  const nonroot = /^nonroot:x:(\d+):(\d+):/m.exec(passwd)
  assert.ok(nonroot, 'etc/passwd has nonroot')
  assert.equal(c.User, `${nonroot[1]}:${nonroot[2]}`)
  assert.notEqual(nonroot[1], '0')
  for (const path of [
    (c.Entrypoint as string[])[0]!,
    (c.Entrypoint as string[])[1]!,
    c.WorkingDir as string,
  ]) {
    assert.ok(image.fs.has(path.slice(1)), `${path} is in the image`)
  }
})

it('has the launcher exactly as the Dockerfile writes it, mode 0555', () => {
  const out = join(work, 'launcher')
  const printf = fromDockerfile(
    /(printf '%s\\n' \\\n[\s\S]*?)> \/out\/usr\/local\/bin\/iam-sidecar/,
    dockerfile,
  )
  const sh = spawnSync('sh', ['-c', `${printf}> "$1"`, 'sh', out], { encoding: 'utf8' })
  assert.equal(sh.status, 0, sh.stderr)
  const launcher = image.fs.get('usr/local/bin/iam-sidecar')
  assert.ok(launcher, 'usr/local/bin/iam-sidecar is in the image')
  assert.equal(launcher.type, '0')
  assert.equal(launcher.data.toString(), readFileSync(out, 'utf8'))
  const mode = fromDockerfile(/chmod (\d+) \/out\/usr\/local\/bin\/iam-sidecar/, dockerfile)
  assert.equal(launcher.mode, Number.parseInt(mode, 8))
  assert.equal(launcher.mode, 0o555)
})

/** The files of a source folder, as the Dockerfile's cp -R and find leave them. */
function shippedFiles(dir: string, prefix = dir): string[] {
  const out: string[] = []
  for (const e of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
    if (e.name.endsWith('.test.ts') || e.name === 'testdata') continue
    if (e.isDirectory()) out.push(...shippedFiles(join(dir, e.name), prefix))
    else out.push(join(dir, e.name))
  }
  return out
}

it('has the files the Dockerfile copies into /app, with the fresh sidecar bundle', () => {
  const copied = fromDockerfile(/cp -R (.+?) \/out\/app\//, dockerfile).split(/\s+/)
  assert.ok(dockerfile.includes("-name '*.test.ts' -o -name testdata"), 'the find the test mirrors')
  for (const what of copied) {
    if (what === 'node_modules') continue
    const expected = statSync(join(repoRoot, what)).isFile() ? [what] : shippedFiles(what)
    const inImage = [...image.fs.keys()].filter(
      (p) => (p === `app/${what}` || p.startsWith(`app/${what}/`)) && image.fs.get(p)!.type !== '5',
    )
    assert.deepEqual(inImage.sort(), expected.map((f) => `app/${f}`).sort(), `files of ${what}`)
    for (const f of expected) {
      assert.ok(
        image.fs.get(`app/${f}`)!.data.equals(readFileSync(join(repoRoot, f))),
        `content of ${f}`,
      )
    }
  }
  assert.match(dockerfile, /cp dist\/sidecar\.mjs \/out\/app\/dist\//)
  assert.ok(image.fs.get('app/dist/sidecar.mjs')!.data.equals(readFileSync(SIDECAR_BUNDLE)))
  assert.ok(image.fs.has('app/node_modules/hono/package.json'), 'hono is installed')
})

it('has the production dependencies only', () => {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<
      string,
      { dev?: boolean; optional?: boolean; devOptional?: boolean; link?: boolean }
    >
  }
  let prod = 0
  for (const [key, p] of Object.entries(lock.packages)) {
    if (key === '' || p.link || p.optional || p.devOptional) continue
    const present = image.fs.has(`app/${key}/package.json`)
    assert.equal(
      present,
      !p.dev,
      `${key} (${p.dev ? 'dev' : 'production'}) ${present ? 'is' : 'is not'} in the image`,
    )
    prod += p.dev ? 0 : 1
  }
  assert.ok(prod > 50, `${prod} production packages`)
  for (const dev of ['typescript', 'eslint', 'esbuild', 'prettier', 'node', 'typescript-eslint']) {
    assert.ok(!image.fs.has(`app/node_modules/${dev}`), `devDependency ${dev} is not shipped`)
  }
})

it('has no tests, nothing owned by non-root and nothing world-writable but /tmp', () => {
  for (const item of image.layers.flat()) {
    assert.ok(!/(^|\/)testdata(\/|$)|\.test\.ts$/.test(item.name), `${item.name} is a test file`)
    assert.equal(item.uid, 0, `${item.name} is owned by root`)
    assert.equal(item.gid, 0, `${item.name} has group root`)
    if (item.type === '2') continue
    assert.ok(['0', '5'].includes(item.type), `${item.name}: only files, folders and symlinks`)
    if (item.name !== 'tmp/')
      assert.equal(item.mode & 0o022, 0, `${item.name} is not writable by others`)
  }
  assert.equal(image.fs.get('tmp')!.mode, 0o1777)
})

it('is reproducible: a second build gives the same manifest digest', async () => {
  const [again] = await buildImages(['iam-sidecar'], { outDir: join(work, 'again'), force: true })
  assert.ok(again!.built)
  const second = openArchive(again!.file)
  assert.equal(second.index.manifests[0]!.digest, image.index.manifests[0]!.digest)
  assert.ok(readFileSync(again!.file).equals(readFileSync(built.file)), 'byte-identical archives')
})

it("runs the image's node on the image's own libraries, and the CLI from /app", () => {
  const root = join(work, 'rootfs')
  mkdirSync(root)
  for (const l of image.manifest.layers) {
    const blob = join(work, 'layer.tar')
    writeFileSync(blob, image.blobs.get(l.digest)!)
    const tar = spawnSync('tar', ['-x', '--no-same-owner', '-C', root, '-f', blob], {
      encoding: 'utf8',
    })
    assert.equal(tar.status, 0, tar.stderr)
  }
  const ldso = join(root, 'lib64', 'ld-linux-x86-64.so.2')
  const libPath = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'].map((d) => join(root, d))
  const run = (...args: string[]) =>
    spawnSync(ldso, ['--inhibit-cache', '--library-path', libPath.join(':'), ...args], {
      encoding: 'utf8',
      cwd: join(root, 'app'),
      env: {},
    })
  const list = run('--list', join(root, 'nodejs', 'bin', 'node'))
  assert.equal(list.status, 0, list.stderr)
  const resolved = [...list.stdout.matchAll(/=> (\S+)/g)].map((m) => m[1]!)
  assert.ok(resolved.length >= 5, list.stdout)
  for (const lib of resolved) assert.ok(lib.startsWith(`${root}/`), `${lib} comes from the image`)
  const version = run(join(root, 'nodejs', 'bin', 'node'), '--version')
  assert.equal(version.status, 0, version.stderr)
  assert.match(version.stdout, /^v24\./)
  const cli = run(
    join(root, 'nodejs', 'bin', 'node'),
    join(root, 'app', 'bin', 'iam-sidecar.ts'),
    '--help',
  )
  assert.equal(cli.status, 0, cli.stderr)
  assert.match(cli.stdout, /usage: iam-sidecar/)
})

it('writes gzip layers, long and non-ASCII paths and symlinks that GNU tar reads back', async () => {
  const deep = `${'d'.repeat(60)}/${'e'.repeat(60)}/fïle-${'f'.repeat(40)}.txt`
  const file = join(work, 'small.oci.tar')
  const spec: ImageSpec = {
    reference: 'example.test/small:1',
    config: { User: '1:1', Env: [], Entrypoint: ['/x'] },
    layers: [
      {
        name: 'small',
        entries: [
          { path: `/${deep}`, mode: 0o644, content: 'hello\n' },
          { path: '/link', symlink: deep },
          { path: '/x', mode: 0o755, source: join(repoRoot, 'package.json') },
        ],
      },
    ],
  }
  const first = await writeOciArchive(spec, file, 'gzip')
  const small = openArchive(file)
  assert.equal(small.manifest.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip')
  assert.equal(small.fs.get(deep)!.data.toString(), 'hello\n')
  assert.equal(small.fs.get('link')!.linkname, deep)
  assert.equal((await writeOciArchive(spec, file, 'gzip')).manifest.digest, first.manifest.digest)
  const layer = join(work, 'small-layer.tar.gz')
  writeFileSync(layer, small.blobs.get(small.manifest.layers[0]!.digest)!)
  const listed = spawnSync('tar', ['-tzf', layer], { encoding: 'utf8' })
  assert.equal(listed.status, 0, listed.stderr)
  assert.ok(listed.stdout.split('\n').includes(deep), listed.stdout)
})
