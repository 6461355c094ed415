// Golden admission cases: one self-describing YAML file per case in testdata/golden/ (pod,
// namespace, ServiceAccount, config overrides → the exact skip reason, denial, or JSON Patch and
// warnings). Every injected case is also applied with an independent RFC 6902 applier and
// checked for the properties DESIGN.md promises: add-only, no whole-array rewrite, idempotent,
// the token mounted into the sidecar only, the env vars exactly once in every app container.
//
// UPDATE_GOLDEN=1 node --test injector/golden.test.ts rewrites the `expect` blocks from the
// actual output (the rest of each file is kept). Read every rewritten expectation before
// committing it: a wrong golden file is worse than none.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import type { V1Container, V1Namespace, V1Pod, V1ServiceAccount } from '@kubernetes/client-node'
import { parse, parseDocument } from 'yaml'
import { SKIP_CONTAINERS } from '../lib/annotations.ts'
import { FULL_URI_ENV, POD_LAYOUT, TOKEN_FILE_ENV } from '../lib/sidecar-pod-layout.ts'
import { applyPatch } from '../test/support/json-patch.ts'
import { INJECTOR_FLAGS, loadInjectorConfig } from './config.ts'
import {
  planInjection,
  injectionConfigOf,
  type InjectionConfig,
  type InjectionDecision,
} from './plan-injection.ts'
import { buildPatch, type PatchOp } from './patch.ts'

const DIR = new URL('./testdata/golden/', import.meta.url)
// eslint-disable-next-line no-restricted-properties -- a test-run switch, not configuration
const UPDATE = process.env.UPDATE_GOLDEN === '1'
const MIN_CASES = 25
/** planInjection() must be fast for every case, the hostile namespace pattern included. */
const MAX_DECIDE_MS = 500

interface Expectation {
  skip?: string
  deny?: string
  /** Inject cases: the role as the plan carries it and where it came from. */
  role?: string
  roleSource?: string
  warnings?: string[]
  patch?: PatchOp[]
}

interface GoldenCase {
  description: string
  config?: Record<string, string | boolean>
  namespace?: V1Namespace
  serviceAccount?: V1ServiceAccount
  pod: V1Pod
  expect: Expectation
}

const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()

function readCase(file: string): GoldenCase {
  const c = parse(readFileSync(new URL(file, DIR), 'utf8')) as GoldenCase
  assert.match(file, /^\d{2}-[a-z0-9-]+\.yaml$/, 'file name: NN-short-name.yaml')
  assert.equal(typeof c.description, 'string', 'description')
  assert.ok(c.pod?.metadata, 'pod.metadata')
  if (!UPDATE) {
    const kinds = ['skip', 'deny', 'patch'].filter((k) => k in (c.expect ?? {}))
    assert.equal(kinds.length, 1, 'expect: exactly one of skip, deny, patch')
  }
  return c
}

/** Defaults from loadInjectorConfig, with the case's overrides passed as the real flags. */
function configFor(overrides: GoldenCase['config']): InjectionConfig {
  const argv = ['--tls-self-bootstrap']
  for (const [key, value] of Object.entries(overrides ?? {})) {
    const flag = (INJECTOR_FLAGS as Record<string, { name: string }>)[key]
    assert.ok(flag, `config: unknown key ${key}`)
    argv.push(`--${flag.name}=${String(value)}`)
  }
  const cfg = loadInjectorConfig(argv, {})
  return injectionConfigOf(cfg)
}

/** The decision in the golden file's shape, as JSON (what the webhook would send). */
function expectationOf(pod: V1Pod, d: InjectionDecision): Expectation {
  if (d.kind === 'skip') return { skip: d.reason }
  if (d.kind === 'deny') return { deny: d.message }
  const patch = buildPatch(pod, d.plan)
  const out = {
    role: d.plan.role,
    roleSource: d.plan.roleSource,
    warnings: [...d.warnings],
    patch,
  }
  return JSON.parse(JSON.stringify(out)) as Expectation
}

function writeExpectation(file: string, expect: Expectation): void {
  const url = new URL(file, DIR)
  const doc = parseDocument(readFileSync(url, 'utf8'))
  doc.set('expect', doc.createNode(expect, { aliasDuplicateObjects: false }))
  writeFileSync(url, doc.toString({ lineWidth: 0 }))
}

const names = (list: readonly V1Container[] | undefined): string[] =>
  (list ?? []).map((c) => c.name)

const envCount = (c: V1Container, name: string): number =>
  (c.env ?? []).filter((e) => e.name === name).length

const mountsVolume = (c: V1Container, volume: string): boolean =>
  (c.volumeMounts ?? []).some((m) => m.name === volume)

/** Which containers must end up with the env vars, derived from the pod, not from the plan. */
function targets(pod: V1Pod, native: boolean): Set<string> {
  const skip = new Set(
    (pod.metadata?.annotations?.[SKIP_CONTAINERS] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  const all = [...names(pod.spec?.containers), ...(native ? names(pod.spec?.initContainers) : [])]
  return new Set(all.filter((n) => !skip.has(n)))
}

/** The only existing values a patch may change: the injected label, and NO_PROXY (gains 127.0.0.1). */
function mayOverwrite(doc: V1Pod, path: string): boolean {
  if (path === '/metadata/labels/iam-sidecar~1injected') return true
  const m = /^\/spec\/(containers|initContainers)\/(\d+)\/env\/(\d+)\/value$/.exec(path)
  const name = m ? doc.spec?.[m[1] as 'containers']?.[Number(m[2])]?.env?.[Number(m[3])]?.name : ''
  return name === 'NO_PROXY' || name === 'no_proxy'
}

/** Adds one op at a time; none may overwrite an existing object member but those above. */
function applyCheckingOverwrites(pod: V1Pod, ops: readonly PatchOp[]): V1Pod {
  let doc = pod
  for (const op of ops) {
    assert.equal(op.op, 'add', `only add ops: ${op.path}`)
    for (const field of ['containers', 'initContainers'] as const) {
      if (doc.spec?.[field] !== undefined)
        assert.notEqual(op.path, `/spec/${field}`, `${op.path} would rewrite the existing array`)
    }
    const segments = op.path.split('/')
    const last = segments[segments.length - 1]!
    const overwrite = !/^(\d+|-)$/.test(last) && existsAt(doc, op.path)
    if (overwrite) assert.ok(mayOverwrite(doc, op.path), `${op.path} overwrites`)
    doc = applyPatch(doc, [op])
  }
  return doc
}

function existsAt(doc: unknown, path: string): boolean {
  let node = doc
  for (const raw of path.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return false
    node = (node as Record<string, unknown>)[key]
  }
  return true
}

/** A container that sets a proxy in env must end with 127.0.0.1 in each NO_PROXY it has. */
function checkNoProxy(c: V1Container): void {
  const env = c.env ?? []
  if (!env.some((e) => /^(https?|all)_proxy$/i.test(e.name))) return
  const lists = env.filter((e) => /^no_proxy$/i.test(e.name))
  assert.ok(lists.length > 0, `${c.name}: sets a proxy but has no NO_PROXY`)
  for (const e of lists) {
    if (e.valueFrom) continue
    const entries = (e.value ?? '').split(',').map((s) => s.trim())
    assert.ok(
      entries.includes('127.0.0.1') || entries.includes('127.0.0.0/8'),
      `${c.name}: ${e.name}`,
    )
  }
}

function sidecarArg(sidecar: V1Container, flag: string): string | undefined {
  return sidecar.args?.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3)
}

function checkPatchedPod(before: V1Pod, after: V1Pod, native: boolean): void {
  const L = POD_LAYOUT
  const field = native ? 'initContainers' : 'containers'
  const list = after.spec?.[field] ?? []
  const sidecar = native ? list[0] : list[list.length - 1]
  assert.equal(sidecar?.name, L.containerName, `sidecar is ${native ? 'first init' : 'last'}`)
  assert.equal(sidecar.restartPolicy, native ? 'Always' : undefined, 'sidecar restartPolicy')
  assert.ok(mountsVolume(sidecar, L.tokenVolume), 'sidecar mounts the ServiceAccount token')
  // The pod's own containers keep their order; only the sidecar was added.
  const withoutSidecar = (l: readonly V1Container[] | undefined) =>
    names(l).filter((n) => n !== L.containerName)
  assert.deepEqual(withoutSidecar(after.spec?.containers), names(before.spec?.containers))
  assert.deepEqual(withoutSidecar(after.spec?.initContainers), names(before.spec?.initContainers))
  const want = targets(before, native)
  const apps = [...(after.spec?.initContainers ?? []), ...(after.spec?.containers ?? [])].filter(
    (c) => c.name !== L.containerName,
  )
  const original = [...(before.spec?.initContainers ?? []), ...(before.spec?.containers ?? [])]
  for (const c of apps) {
    assert.ok(!mountsVolume(c, L.tokenVolume), `${c.name} must not mount the token`)
    if (want.has(c.name)) {
      assert.equal(envCount(c, FULL_URI_ENV), 1, `${c.name}: ${FULL_URI_ENV} once`)
      assert.equal(envCount(c, TOKEN_FILE_ENV), 1, `${c.name}: ${TOKEN_FILE_ENV} once`)
      for (const name of new Set((c.env ?? []).map((e) => e.name)))
        assert.equal(envCount(c, name), 1, `${c.name}: ${name} once`)
      checkNoProxy(c)
      const uri = c.env?.find((e) => e.name === FULL_URI_ENV)?.value ?? ''
      const was = original.find((o) => o.name === c.name)
      if (!was?.env?.some((e) => e.name === FULL_URI_ENV))
        assert.ok(uri.startsWith(`http://127.0.0.1:${sidecarArg(sidecar, 'port')}/`), uri)
    } else {
      const was = original.find((o) => o.name === c.name)
      assert.deepEqual(c, was, `${c.name} is skipped: unchanged`)
    }
  }
  for (const v of [L.tokenVolume, L.secretVolume, L.brokerCaVolume])
    assert.equal(after.spec?.volumes?.filter((x) => x.name === v).length, 1, `volume ${v} once`)
}

describe('injector golden cases', () => {
  it(`has at least ${MIN_CASES} cases`, () => {
    assert.ok(files.length >= MIN_CASES, `${files.length} cases`)
  })

  for (const file of files) {
    it(file, () => {
      const c = readCase(file)
      const cfg = configFor(c.config)
      const t0 = performance.now()
      const d = planInjection(c.pod, c.namespace, c.serviceAccount, cfg)
      const ms = performance.now() - t0
      assert.ok(ms < MAX_DECIDE_MS, `planInjection took ${ms.toFixed(0)} ms`)
      const actual = expectationOf(c.pod, d)
      if (UPDATE) writeExpectation(file, actual)
      else assert.deepEqual(actual, c.expect)
      if (d.kind !== 'inject') return

      const patched = applyCheckingOverwrites(c.pod, buildPatch(c.pod, d.plan))
      assert.deepEqual(buildPatch(patched, d.plan), [], 'a second pass changes nothing')
      assert.deepEqual(planInjection(patched, c.namespace, c.serviceAccount, cfg), {
        kind: 'skip',
        reason: 'already injected',
      })
      checkPatchedPod(c.pod, patched, cfg.sidecar.nativeSidecars)
    })
  }
})
