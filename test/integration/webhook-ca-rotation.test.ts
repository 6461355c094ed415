// The shared webhook CA rotating under three live injector replicas on a real API server, with
// a CA lifetime of seconds: polled every quarter second, every replica's TLS must be trusted by
// the caBundle at every moment through three rotations, while one replica restarts now and then.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { useCluster } from '../peers/cluster.ts'
import {
  certCount,
  injectorReplicas,
  untrustedReplicas,
  type InjectorReplicas,
} from '../support/injector-replicas.ts'

const cluster = await useCluster()
const VALIDITY_S = 18
const WATCH_MS = 44_000
let r: InjectorReplicas

before(async () => {
  r = await injectorReplicas(cluster, {
    replicas: 3,
    flags: [`--webhook-ca-validity=${VALIDITY_S}s`, '--webhook-ca-check-interval=1s'],
  })
})
after(() => r.close())

const subjects = (bundle: string): string[] =>
  [...bundle.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map(
    (m) => new X509Certificate(m[0]).subject,
  )

describe('rotating the shared webhook CA', { timeout: 180_000 }, () => {
  it(`keeps every replica trusted through rotations every ${(VALIDITY_S * 2) / 3} s`, async () => {
    await Promise.all([0, 1, 2].map((i) => r.start(i)))
    const problems: string[] = []
    const currents = new Set<string>()
    let twoCas = 0
    let polls = 0
    let restarts = 0
    const start = Date.now()
    let nextRestart = start + 5_000
    while (Date.now() - start < WATCH_MS) {
      if (Date.now() >= nextRestart) {
        await r.restart(2, restarts++ % 2 === 0 ? 'kill' : 'stop')
        nextRestart = Date.now() + 7_000
      }
      const at = ((Date.now() - start) / 1000).toFixed(1)
      problems.push(
        ...(await untrustedReplicas(r, { admission: false })).map((p) => `+${at} s ${p}`),
      )
      const [bundle] = await r.bundles()
      currents.add(subjects(bundle!)[0]!)
      if (certCount(bundle!) === 2) twoCas++
      polls++
      await new Promise((res) => setTimeout(res, 250))
    }
    assert.deepEqual(problems, [], `${polls} polls`)
    assert.ok(currents.size >= 3, `${currents.size} CAs were current (2 rotations or more)`)
    assert.ok(twoCas > 0, 'the caBundle held the old and the new CA during a rotation')
    assert.ok(restarts >= 4, `${restarts} restarts`)
    assert.deepEqual(await untrustedReplicas(r, { admission: true }), [], 'admission at the end')
  })
})
