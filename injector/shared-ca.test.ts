// One CA for every replica and restart, on the fake Secret store: created once however the
// replicas race, rotated once, kept across restarts.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { makeCa } from '../lib/self-signed.ts'
import { parseCa, type CaPolicy, type StoredCa } from './ca-state.ts'
import { FakeCaSecretStore } from './fake-ca-secret-store.ts'
import { ensureSharedCa } from './shared-ca.ts'

const HOUR = 3_600_000
const POLICY: CaPolicy = { validityMs: 90 * HOUR, checkIntervalMs: HOUR }
const OWNER = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'MutatingWebhookConfiguration',
  name: 'w',
  uid: 'u-1',
}

let made = 0
/** A CA valid for POLICY.validityMs from `now`. */
async function newCaAt(now: number): Promise<StoredCa> {
  made++
  const validUntil = new Date(now + POLICY.validityMs)
  const pair = await makeCa({ commonName: `ca-${made}`, validUntil })
  return parseCa(pair.certPem, pair.keyPem, 'new CA')
}

/** A replica's call, at `now`. */
const replica = (store: FakeCaSecretStore, now = Date.now()) =>
  ensureSharedCa({ store, policy: POLICY, now: () => now, newCa: () => newCaAt(now), owner: OWNER })

describe('the CA every replica shares', () => {
  it('is created once, with its owner, and then only read: 3 replicas and 10 restarts', async () => {
    const store = new FakeCaSecretStore()
    const first = await replica(store)
    assert.equal(first.wrote, 'create')
    assert.deepEqual(store.secret?.owner, OWNER)
    for (let i = 0; i < 12; i++) {
      const again = await replica(store)
      assert.equal(again.wrote, 'keep')
      assert.equal(again.state.current.certPem, first.state.current.certPem)
    }
    assert.equal(store.writes, 1)
  })

  it('has one winner when replicas start at once; the others read its CA', async () => {
    const store = new FakeCaSecretStore()
    const results = await Promise.all([replica(store), replica(store), replica(store)])
    assert.equal(store.writes, 1)
    assert.deepEqual(results.map((r) => r.wrote).sort(), ['create', 'keep', 'keep'])
    const pems = new Set(results.map((r) => r.state.current.certPem))
    assert.deepEqual([...pems], [store.secret!.state!.current.certPem])
  })

  it('reads the winner’s CA when another replica creates it between its read and its create', async () => {
    const store = new FakeCaSecretStore()
    let winner = ''
    store.beforeWrite = async () => {
      winner = (await replica(store)).state.current.certPem
    }
    const loser = await replica(store)
    assert.equal(loser.wrote, 'keep')
    assert.equal(loser.state.current.certPem, winner)
    assert.equal(store.writes, 1)
  })

  it('fills a Secret made empty for it (by the chart, say)', async () => {
    const store = new FakeCaSecretStore({ state: undefined })
    const r = await replica(store)
    assert.equal(r.wrote, 'create')
    assert.equal(store.secret?.state?.current.certPem, r.state.current.certPem)
    assert.equal(store.secret?.owner, undefined, 'replace keeps the metadata it read')
  })

  it('rotates once when replicas find the CA due together, keeping the old one as previous', async () => {
    const store = new FakeCaSecretStore()
    const { state } = await replica(store)
    const due = state.current.notAfter - POLICY.validityMs / 3
    const results = await Promise.all([
      replica(store, due),
      replica(store, due),
      replica(store, due),
    ])
    assert.deepEqual(results.map((r) => r.wrote).sort(), ['keep', 'keep', 'rotate'])
    const now = store.secret!.state!
    assert.equal(now.previous?.certPem, state.current.certPem)
    assert.notEqual(now.current.certPem, state.current.certPem)
    for (const r of results) assert.equal(r.state.current.certPem, now.current.certPem)
    // Pruned, once, when the old one has expired.
    const pruned = await replica(store, state.current.notAfter)
    assert.equal(pruned.wrote, 'prune')
    assert.equal(store.secret!.state!.previous, undefined)
    assert.equal(store.writes, 3)
  })

  it('gives up after five writes lost in a row, saying so', async () => {
    const store = new FakeCaSecretStore()
    let losses = 0
    const interfere = async (): Promise<void> => {
      losses++
      store.secret = { state: undefined, resourceVersion: `other-${losses}` }
      store.beforeWrite = interfere
    }
    store.beforeWrite = interfere
    await assert.rejects(
      replica(store),
      /^Error: the webhook CA Secret changed concurrently on each of 5 attempts$/,
    )
    assert.equal(losses, 5)
  })
})
