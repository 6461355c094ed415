// node bench/reliability-fuzz.ts: the hostile-input generators of test/support/fuzz.ts, once,
// against the three real servers on a control plane of its own (the sidecar bundle as a process,
// the broker and the injector in-process with captured logs). Writes
// bench/results/reliability-fuzz.json:
// - fuzz_inputs: requests sent (all three endpoints)
// - fuzz_crashes: a server process gone, or a good request refused/unanswered, after a case
// - secrets_leaked: secrets of the run found in refusals, reviews, logs or process output
// - fuzz_wrong_answers: responses whose status was not right for the input (diagnostic)
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { startControlPlane } from '../test/peers/control-plane.ts'
import { makeTestCluster } from '../test/peers/cluster.ts'
import { httpsGet } from '../test/support/broker-fixture.ts'
import { startFuzzTargets } from '../test/support/fuzz-targets.ts'
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
} from '../test/support/fuzz.ts'
import { scanForSecrets } from '../test/support/secret-scan.ts'
import { writeResults } from './results.ts'

const CASES = 10_000
const SEED = 0x1a2b3c4d

interface Outcome {
  sent: number
  crashes: number
  wrong: number
}

async function campaign(
  name: string,
  sender: Sender,
  cases: Iterable<FuzzCase>,
  o: { probe: () => Promise<boolean>; keep: (r: FuzzResult) => void },
): Promise<Outcome> {
  const out: Outcome = { sent: 0, crashes: 0, wrong: 0 }
  const t0 = performance.now()
  out.sent = await runBounded(cases, (c) => sender.send(c), {
    concurrency: 32,
    probeEvery: 500,
    probe: async () => void (!(await o.probe()) && out.crashes++),
    onResult: (r) => {
      if (judge(r)) out.wrong++
      o.keep(r)
    },
  })
  if (!(await o.probe())) out.crashes++
  sender.close()
  const secs = ((performance.now() - t0) / 1000).toFixed(1)
  console.log(
    `# ${name}: ${out.sent} inputs in ${secs} s, ${out.crashes} crashes, ${out.wrong} wrong`,
  )
  return out
}

function postReview(port: number, ca: string): Promise<boolean> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'probe-1', kind: { kind: 'Pod' }, operation: 'CREATE', object: { spec: {} } },
  })
  return new Promise((resolve) => {
    const req = request(
      `https://127.0.0.1:${port}/mutate`,
      { method: 'POST', ca, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = ''
        res.on('data', (d: Buffer) => (text += d.toString()))
        res.on('end', () => resolve(res.statusCode === 200 && text.includes('"probe-1"')))
      },
    )
    req.on('error', () => resolve(false))
    req.end(body)
  })
}

async function main(): Promise<void> {
  console.log('# starting the control plane')
  const plane = await startControlPlane({ controllerManager: false })
  const { cluster } = makeTestCluster(plane)
  const haystacks = new Set<string>()
  const targets = await startFuzzTargets(cluster)
  const { broker, sidecar, injector, secrets, podSecret: secret } = targets
  const namespaces = targets.hostileNamespaces
  const keepCreds = (body: string): void => {
    const j = JSON.parse(body) as { SecretAccessKey?: string; Token?: string }
    if (j.SecretAccessKey) secrets.push(j.SecretAccessKey, j.Token ?? '')
  }
  try {
    const t0 = performance.now()
    const rng = new Rng(SEED)
    const s = await campaign(
      'sidecar',
      makeSender({ port: sidecar.port }),
      generate(CASES, (i) => sidecarCase(rng, { port: sidecar.port, secret }, i)),
      {
        probe: async () => {
          if (sidecar.child.exitCode !== null || sidecar.child.signalCode !== null) return false
          const res = await fetch(`${sidecar.url}/v1/credentials`, {
            headers: { authorization: secret },
          }).catch(() => undefined)
          if (res?.status !== 200) return false
          keepCreds(await res.text())
          return true
        },
        keep: (r) =>
          r.status === 200 && r.body.includes('SecretAccessKey')
            ? keepCreds(r.body)
            : void haystacks.add(r.body),
      },
    )
    const b = await campaign(
      'broker',
      makeSender({ port: broker.port, ca: readFileSync(broker.caFile) }),
      generate(CASES, (i) => brokerCase(rng, i)),
      {
        probe: async () =>
          (await httpsGet(`${broker.url}/healthz`, broker.caFile).catch(() => undefined))
            ?.status === 200,
        keep: (r) => void haystacks.add(r.body),
      },
    )
    const injCases = function* (): Generator<FuzzCase> {
      yield* oversizedInjectorCases(rng)
      yield* generate(CASES, (i) => injectorCase(rng, { namespaces }, i))
    }
    const i = await campaign(
      'injector',
      makeSender({ port: injector.port, ca: injector.caPem! }),
      injCases(),
      {
        probe: () => postReview(injector.port, injector.caPem!),
        keep: (r) => void haystacks.add(r.body),
      },
    )
    const scan = scanForSecrets(
      [...haystacks, broker.logs(), injector.logs(), sidecar.output()],
      secrets.filter(Boolean),
    )
    const results = {
      fuzz_inputs: s.sent + b.sent + i.sent,
      fuzz_crashes: s.crashes + b.crashes + i.crashes,
      secrets_leaked: scan.leaks,
      fuzz_wrong_answers: s.wrong + b.wrong + i.wrong,
      fuzz_seconds: Math.round((performance.now() - t0) / 100) / 10,
      node_version: process.version,
    }
    writeResults('reliability-fuzz.json', results)
  } finally {
    await targets.stop()
    await plane.stop()
  }
}

await main()
