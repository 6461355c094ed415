// The shared webhook CA's pure decisions: what the Secret holds, when to make, rotate and prune,
// what the caBundle holds and which CA signs, through a whole rotation.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { makeCa } from '../lib/self-signed.ts'
import {
  bundleOf,
  decideCa,
  decodeCaSecret,
  encodeCaSecret,
  LEGACY_GRACE_MS,
  legacyCasToKeep,
  nextCaState,
  parseCa,
  policyProblem,
  signingCa,
  type CaPolicy,
  type StoredCa,
} from './ca-state.ts'

const HOUR = 3_600_000
const POLICY: CaPolicy = { validityMs: 90 * HOUR, checkIntervalMs: HOUR }

async function ca(name: string, validityMs = POLICY.validityMs): Promise<StoredCa> {
  const pair = await makeCa({ commonName: name, validUntil: new Date(Date.now() + validityMs) })
  return parseCa(pair.certPem, pair.keyPem, name)
}

const b64 = (s: string): string => Buffer.from(s).toString('base64')
/** Every 20-character window of the key bodies: none may appear in a message. */
function assertNoKeyIn(message: string, ...keys: string[]): void {
  for (const key of keys) {
    const body = key.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '')
    for (let i = 0; i + 20 <= body.length; i += 10)
      assert.ok(!message.includes(body.slice(i, i + 20)), 'key material in the message')
  }
}

describe('the shared webhook CA in its Secret', () => {
  it('round-trips through Secret data, with and without a previous CA', async () => {
    const [a, b] = [await ca('a'), await ca('b')]
    assert.deepEqual(decodeCaSecret(encodeCaSecret({ current: a }), 'ns/s'), { current: a })
    assert.deepEqual(decodeCaSecret(encodeCaSecret({ current: b, previous: a }), 'ns/s'), {
      current: b,
      previous: a,
    })
    assert.deepEqual(Object.keys(encodeCaSecret({ current: b, previous: a })), [
      'ca.crt',
      'ca.key',
      'previous-ca.crt',
      'previous-ca.key',
    ])
  })

  it('reads when a CA was made from its back-dated notBefore, and its end', async () => {
    const before = Date.now()
    const a = await ca('a', 10 * HOUR)
    assert.ok(Math.abs(a.madeAt - before) < 2000, `madeAt ${a.madeAt - before} ms off`)
    assert.ok(Math.abs(a.notAfter - (before + 10 * HOUR)) < 2000)
  })

  it('treats a Secret without data as empty (to fill), and refuses one with other data', async () => {
    assert.equal(decodeCaSecret(undefined, 'ns/s'), undefined)
    assert.equal(decodeCaSecret({}, 'ns/s'), undefined)
    assert.throws(
      () => decodeCaSecret({ password: b64('hunter2') }, 'ns/s'),
      /^Error: Secret ns\/s holds no webhook CA \(keys ca\.crt and ca\.key\): it is not the injector’s; delete it or name another with --webhook-ca-secret$/,
    )
  })

  it('refuses a broken pair, naming the keys and never quoting the key', async () => {
    const [a, b] = [await ca('a'), await ca('b')]
    const cases: [Record<string, string>, RegExp][] = [
      [
        { 'ca.crt': b64('not a cert'), 'ca.key': b64(a.keyPem) },
        /ca\.crt\/ca\.key: the certificate is not PEM X\.509$/,
      ],
      [
        { 'ca.crt': b64(a.certPem), 'ca.key': b64(a.keyPem.slice(0, 120)) },
        /ca\.crt\/ca\.key: the key is not a PEM private key$/,
      ],
      [
        { 'ca.crt': b64(a.certPem), 'ca.key': b64(b.keyPem) },
        /ca\.crt\/ca\.key: the key does not belong to the certificate$/,
      ],
      [
        { ...encodeCaSecret({ current: a }), 'previous-ca.crt': b64(b.certPem) },
        /previous-ca\.crt and previous-ca\.key come together$/,
      ],
    ]
    for (const [data, want] of cases) {
      const err = (() => {
        try {
          decodeCaSecret(data, 'ns/s')
        } catch (e) {
          return e as Error
        }
        throw new Error('accepted')
      })()
      assert.match(err.message, want)
      assertNoKeyIn(err.message, a.keyPem, b.keyPem)
    }
  })

  it('refuses a certificate that is not a CA', async () => {
    const { issueServingCert } = await import('../lib/self-signed.ts')
    const a = await ca('a')
    const leaf = await issueServingCert(a, { dnsNames: ['x.svc'], days: 1 })
    assert.throws(
      () => decodeCaSecret({ 'ca.crt': b64(leaf.certPem), 'ca.key': b64(leaf.keyPem) }, 'ns/s'),
      /the certificate is not a CA certificate$/,
    )
  })
})

describe('deciding about the shared CA', () => {
  it('creates when there is none, rotates in the last third, prunes an expired previous', async () => {
    // b as if made at a's rotation: it ends two thirds of a lifetime after a.
    const [a, b] = [await ca('a'), await ca('b', (POLICY.validityMs * 5) / 3)]
    const t = a.madeAt
    const third = POLICY.validityMs / 3
    assert.equal(decideCa(undefined, t, POLICY), 'create')
    assert.equal(decideCa({ current: a }, t, POLICY), 'keep')
    assert.equal(decideCa({ current: a }, a.notAfter - third - 1000, POLICY), 'keep')
    assert.equal(decideCa({ current: a }, a.notAfter - third, POLICY), 'rotate')
    assert.equal(decideCa({ current: a }, a.notAfter + 1, POLICY), 'rotate', 'expired too')
    assert.equal(decideCa({ current: b, previous: a }, a.notAfter - 1, POLICY), 'keep')
    assert.equal(decideCa({ current: b, previous: a }, a.notAfter, POLICY), 'prune')
  })

  it('keeps the old CA as previous on rotation, unless it expired already', async () => {
    const [a, b] = [await ca('a'), await ca('b')]
    assert.deepEqual(nextCaState(undefined, 'create', a, a.madeAt), { current: a })
    assert.deepEqual(nextCaState({ current: a }, 'rotate', b, a.notAfter - 1), {
      current: b,
      previous: a,
    })
    assert.deepEqual(nextCaState({ current: a }, 'rotate', b, a.notAfter), { current: b })
    assert.deepEqual(nextCaState({ current: b, previous: a }, 'prune', undefined, a.notAfter), {
      current: b,
    })
    assert.throws(() => nextCaState(undefined, 'keep', undefined, 0), /cannot keep without a CA/)
    assert.throws(() => nextCaState({ current: a }, 'rotate', undefined, 0), /needs a new CA/)
  })

  it('bundles the current CA, and the previous one until it expires', async () => {
    const [a, b] = [await ca('a'), await ca('b')]
    assert.deepEqual(bundleOf({ current: a }, a.madeAt), [a.certPem])
    assert.deepEqual(bundleOf({ current: b, previous: a }, a.notAfter - 1), [b.certPem, a.certPem])
    assert.deepEqual(bundleOf({ current: b, previous: a }, a.notAfter), [b.certPem])
  })

  it('signs from the previous CA for one check interval after a rotation, then the new one', async () => {
    const [a, b] = [await ca('a'), await ca('b')]
    const state = { current: b, previous: a }
    assert.equal(signingCa({ current: a }, a.madeAt, POLICY), a, 'a lone CA signs at once')
    assert.equal(signingCa(state, b.madeAt, POLICY), a)
    assert.equal(signingCa(state, b.madeAt + POLICY.checkIntervalMs - 1, POLICY), a)
    assert.equal(signingCa(state, b.madeAt + POLICY.checkIntervalMs, POLICY), b)
  })

  it('walks a whole rotation: every serving CA is in the bundle at every moment', async () => {
    // Replicas check at their own phase within each interval; model checks every interval at
    // three offsets and track which CA each replica serves from.
    const policy: CaPolicy = { validityMs: 9 * HOUR, checkIntervalMs: HOUR }
    const first = await ca('first', policy.validityMs)
    let state = nextCaState(undefined, 'create', first, first.madeAt)
    const serving = [first, first, first]
    const start = first.madeAt
    let made = 0
    for (let t = start; t < start + 40 * HOUR; t += HOUR / 6) {
      const replica = Math.floor((t - start) / (HOUR / 6)) % 3
      const decision = decideCa(state, t, policy)
      if (decision === 'rotate') {
        // A CA made at t: same shape as a real one, times moved to the model clock.
        const fresh = { ...(await ca(`ca-${++made}`, policy.validityMs)) }
        state = nextCaState(
          state,
          decision,
          { ...fresh, madeAt: t, notAfter: t + policy.validityMs },
          t,
        )
      } else if (decision !== 'keep') state = nextCaState(state, decision, undefined, t)
      serving[replica] = signingCa(state, t, policy)
      const bundle = bundleOf(state, t)
      for (const s of serving) {
        assert.ok(
          bundle.includes(s.certPem),
          `at +${(t - start) / HOUR} h a replica's CA is bundled`,
        )
        assert.ok(s.notAfter > t, 'and unexpired')
      }
    }
    assert.ok(made >= 5, `${made} rotations`)
  })

  it('refuses a validity too short for replicas to move before the old CA expires', () => {
    assert.equal(policyProblem({ validityMs: 9 * HOUR, checkIntervalMs: HOUR }), undefined)
    assert.equal(
      policyProblem({ validityMs: 9 * HOUR - 3, checkIntervalMs: HOUR }),
      'the CA validity must be at least 9 times the check interval',
    )
  })
})

describe('CAs of injector versions before the shared CA', () => {
  it('stay bundled for an hour after the shared CA was made, until its first rotation', async () => {
    const shared = await ca('shared')
    const legacy = await ca(`iam-sidecar-webhook-ca-${Date.now()}`)
    const other = await ca('someone else')
    const expired = await makeCa({
      commonName: `iam-sidecar-webhook-ca-${Date.now() - 1}`,
      validUntil: new Date(Date.now() + 1000),
    })
    const inBundle = [shared.certPem, legacy.certPem, other.certPem, expired.certPem, 'junk']
    // A minute on: the short-lived legacy CA has expired, the other one is not ours.
    const t = shared.madeAt + 60_000
    assert.deepEqual(legacyCasToKeep({ current: shared }, t, inBundle), [legacy.certPem])
    assert.deepEqual(
      legacyCasToKeep({ current: shared }, shared.madeAt + LEGACY_GRACE_MS, inBundle),
      [],
    )
    assert.deepEqual(legacyCasToKeep({ current: other, previous: shared }, t, inBundle), [])
  })
})
