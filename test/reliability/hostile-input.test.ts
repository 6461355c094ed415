// Hostile input against the three real servers: the sidecar bundle as a process (plain HTTP on
// 127.0.0.1), the real broker over HTTPS, the real injector over HTTPS. Each endpoint gets
// FUZZ_CASES seeded inputs (test/support/fuzz.ts) at bounded concurrency. For every response: the
// status is one that is right for the input (never a 500 where a 4xx is right), a well-formed
// AdmissionReview is answered 200 echoing its uid, and no refusal carries credentials. The
// servers are probed with a good request every PROBE_EVERY cases and at the end (no crash).
// Finally everything captured is scanned for every secret of the run.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { useCluster } from '../peers/cluster.ts'
import { httpsGet, type TestBrokerRuntime } from '../support/broker-fixture.ts'
import { startFuzzTargets, type FuzzTargets } from '../support/fuzz-targets.ts'
import type { TestInjector } from '../support/injector-fixture.ts'
import type { SidecarProcess } from '../support/sidecar-process.ts'
import {
  Rng,
  brokerCase,
  generate,
  injectorCase,
  judge,
  makeSender,
  oversizedInjectorCases,
  runBounded,
  sidecarCase,
  type FuzzCase,
  type FuzzResult,
  type Sender,
} from '../support/fuzz.ts'
import { scanForSecrets } from '../support/secret-scan.ts'

const FUZZ_CASES = 10_000
const CONCURRENCY = 32
const PROBE_EVERY = 500
const SEED = 0x1a2b3c4d

const cluster = await useCluster()
let broker: TestBrokerRuntime
let injector: TestInjector
let sidecar: SidecarProcess
let podSecret: string
let hostileNamespaces: readonly string[] = []
/** Every secret issued during the run. */
let secrets: string[] = []
/** Everything captured that must not carry a secret (credential-carrying 200s are left out). */
const haystacks = new Set<string>()
let targets: FuzzTargets | undefined

function collectCredentials(body: string): void {
  const j = JSON.parse(body) as { SecretAccessKey?: string; Token?: string }
  if (j.SecretAccessKey) secrets.push(j.SecretAccessKey, j.Token ?? '')
}

before(async () => {
  targets = await startFuzzTargets(cluster)
  ;({ broker, injector, sidecar, podSecret, hostileNamespaces, secrets } = targets)
})
after(async () => {
  await targets?.stop()
})

interface Tally {
  sent: number
  byStatus: Record<string, number>
  byFamily: Record<string, number>
  failures: string[]
  crashes: number
  retries: number
}

async function fuzz(
  sender: Sender,
  cases: Iterable<FuzzCase>,
  probe: () => Promise<boolean>,
  keep: (r: FuzzResult) => void,
): Promise<Tally> {
  const t: Tally = { sent: 0, byStatus: {}, byFamily: {}, failures: [], crashes: 0, retries: 0 }
  const started = performance.now()
  t.sent = await runBounded(cases, (c) => sender.send(c), {
    concurrency: CONCURRENCY,
    probeEvery: PROBE_EVERY,
    probe: async () => void (!(await probe()) && t.crashes++),
    onResult: (r) => {
      t.byStatus[r.status] = (t.byStatus[r.status] ?? 0) + 1
      t.byFamily[r.c.family] = (t.byFamily[r.c.family] ?? 0) + 1
      const problem = judge(r)
      if (problem && t.failures.length < 1000) t.failures.push(problem)
      keep(r)
    },
  })
  if (!(await probe())) t.crashes++
  t.retries = sender.retries
  sender.close()
  const secs = ((performance.now() - started) / 1000).toFixed(1)
  console.log(
    `# ${t.sent} cases in ${secs} s; ${t.retries} resent after a keep-alive reset; statuses ${JSON.stringify(t.byStatus)}`,
  )
  console.log(`# families ${JSON.stringify(t.byFamily)}`)
  return t
}

function assertClean(t: Tally): void {
  assert.equal(t.crashes, 0, 'the server stopped answering a good request')
  assert.deepEqual(t.failures.slice(0, 10), [], `${t.failures.length} wrong answers`)
  assert.ok(t.sent >= FUZZ_CASES)
}

async function sidecarProbe(): Promise<boolean> {
  if (sidecar.child.exitCode !== null || sidecar.child.signalCode !== null) return false
  const res = await fetch(`${sidecar.url}/v1/credentials`, {
    headers: { authorization: podSecret },
  }).catch(() => undefined)
  if (res?.status !== 200) return false
  collectCredentials(await res.text())
  return true
}

async function brokerProbe(): Promise<boolean> {
  const res = await httpsGet(`${broker.url}/healthz`, broker.caFile).catch(() => undefined)
  return res?.status === 200
}

async function injectorProbe(): Promise<boolean> {
  const { request } = await import('node:https')
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'probe-1',
      kind: { kind: 'Pod' },
      operation: 'CREATE',
      namespace: 'x',
      object: { spec: {} },
    },
  })
  return new Promise((resolve) => {
    const req = request(
      `https://127.0.0.1:${injector.port}/mutate`,
      { method: 'POST', ca: injector.caPem, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = ''
        res.on('data', (d: Buffer) => (text += d.toString()))
        res.on('end', () => resolve(res.statusCode === 200 && text.includes('"uid":"probe-1"')))
      },
    )
    req.on('error', () => resolve(false))
    req.end(body)
  })
}

describe(`hostile input: ${FUZZ_CASES} seeded cases per endpoint`, () => {
  it('sidecar GET /v1/credentials (bundle process, real socket): right 4xx, no crash, no credentials in refusals', async () => {
    const rng = new Rng(SEED)
    const target = { port: sidecar.port, secret: podSecret }
    const t = await fuzz(
      makeSender({ port: sidecar.port }),
      generate(FUZZ_CASES, (i) => sidecarCase(rng, target, i)),
      sidecarProbe,
      (r) =>
        r.status === 200 && r.body.includes('SecretAccessKey')
          ? collectCredentials(r.body)
          : haystacks.add(r.body),
    )
    assertClean(t)
  })

  it('broker GET /v1/credentials (HTTPS): right 4xx, never credentials, no crash', async () => {
    const rng = new Rng(SEED + 1)
    const t = await fuzz(
      makeSender({ port: broker.port, ca: readFileSync(broker.caFile) }),
      generate(FUZZ_CASES, (i) => brokerCase(rng, i)),
      brokerProbe,
      (r) => haystacks.add(r.body),
    )
    assertClean(t)
    assert.equal(t.byStatus['200'] ?? 0, 0, 'no hostile request got credentials')
  })

  it('injector POST /mutate (HTTPS): reviews answered 200 echoing the uid, the rest the right 4xx, oversized bodies 413', async () => {
    const rng = new Rng(SEED + 2)
    const target = { namespaces: hostileNamespaces }
    const cases = function* (): Generator<FuzzCase> {
      yield* oversizedInjectorCases(rng)
      yield* generate(FUZZ_CASES, (i) => injectorCase(rng, target, i))
    }
    const t = await fuzz(
      makeSender({ port: injector.port, ca: injector.caPem! }),
      cases(),
      injectorProbe,
      (r) => haystacks.add(r.body),
    )
    assertClean(t)
  })

  it('sidecar refuses a request with two Host headers, the loopback one first (RFC 9112 §3.2: 400)', async () => {
    const { connect } = await import('node:net')
    const head = [
      'GET /v1/credentials HTTP/1.1',
      `Host: 127.0.0.1:${sidecar.port}`,
      'Host: evil.example',
      `Authorization: ${podSecret}`,
      'Connection: close',
      '',
      '',
    ].join('\r\n')
    const text = await new Promise<string>((resolve) => {
      let out = ''
      const sock = connect(sidecar.port, '127.0.0.1', () => sock.write(head))
      sock.on('data', (d: Buffer) => (out += d.toString()))
      sock.on('close', () => resolve(out))
      sock.setTimeout(5000, () => sock.destroy())
    })
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1])
    if (status === 200) collectCredentials(text.slice(text.indexOf('\r\n\r\n') + 4))
    assert.equal(status, 400)
  })

  it('no secret of the run appears in any refusal, review, log or process output', () => {
    const all = [...haystacks, broker.logs(), injector.logs(), sidecar.output()]
    const found = scanForSecrets(all, secrets.filter(Boolean))
    console.log(`# scanned ${all.length} haystacks for ${new Set(secrets).size} secrets`)
    assert.equal(found.leaks, 0, found.where.slice(0, 10).join('\n'))
  })
})
