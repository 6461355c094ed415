// Adversarial use of tokens against the real broker and the real API server (TokenReview, live
// pods through informers, moto as STS): replays, tokens of the wrong namespace, audience, node,
// forged and tampered tokens, pathological namespace policies. Every attempt must be refused with
// the right status, a code and a message, carry no credentials, and leave no token in any log.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createSign, generateKeyPairSync } from 'node:crypto'
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node'
import { useCluster } from '../peers/cluster.ts'
import {
  BROKER_AWS_CREDENTIALS,
  httpsGet,
  startRealBroker,
  type TestBrokerRuntime,
} from '../support/broker-fixture.ts'
import { createPod, createServiceAccount, podToken } from '../support/pods.ts'
import { HOSTILE_POLICIES, Rng, forgedJwt } from '../support/fuzz.ts'
import { scanForSecrets } from '../support/secret-scan.ts'

const cluster = await useCluster()
const core = cluster.kc.makeApiClient(CoreV1Api)
const ACCOUNT = '123456789012'
const arn = (role: string): string => `arn:aws:iam::${ACCOUNT}:role/${role}`

let broker: TestBrokerRuntime
let nodeBroker: TestBrokerRuntime | undefined
let nsA: string
let nsB: string
const secrets: string[] = [BROKER_AWS_CREDENTIALS.secretAccessKey]
/** Refusal bodies: none may contain a secret. */
const refusals: string[] = []

before(async () => {
  // The legacy meanings are on: they match unanchored (re2js's search), on tenant text.
  broker = await startRealBroker(cluster, [
    '--legacy-permitted-match=kiam-v3',
    '--namespace-restrictions=true',
    '--namespace-restriction-format=regexp',
  ])
  nsA = await cluster.freshNamespace('abuse-a', {}, { 'iam-sidecar/permitted': arn('web') })
  nsB = await cluster.freshNamespace('abuse-b', {}, { 'iam-sidecar/permitted': arn('api') })
  await createServiceAccount(cluster, nsA)
  await createServiceAccount(cluster, nsB)
})
after(async () => {
  await nodeBroker?.close()
  await broker?.close()
})

async function ask(
  token: string,
  b: TestBrokerRuntime = broker,
): Promise<{ status: number; json: Record<string, string>; ms: number }> {
  const t0 = performance.now()
  const res = await httpsGet(`${b.url}/v1/credentials`, b.caFile, {
    authorization: `Bearer ${token}`,
  })
  const ms = performance.now() - t0
  const json = JSON.parse(res.body) as Record<string, string>
  if (json.SecretAccessKey) secrets.push(json.SecretAccessKey, json.Token!)
  else refusals.push(res.body)
  return { status: res.status, json, ms }
}

async function refused(
  token: string,
  [status, code, message]: [number, RegExp, RegExp],
  b?: TestBrokerRuntime,
): Promise<number> {
  const res = await ask(token, b)
  assert.equal(res.status, status, JSON.stringify(res.json))
  assert.match(res.json.code ?? '', code)
  assert.match(res.json.message ?? '', message)
  assert.equal(res.json.SecretAccessKey, undefined)
  assert.equal(res.json.Token, undefined)
  return res.ms
}

async function pod(
  namespace: string,
  name: string,
  role: string,
  nodeName = 'node-a',
): Promise<{ pod: V1Pod; token: string }> {
  const p = await createPod(cluster, {
    namespace,
    name,
    nodeName,
    annotations: { 'iam-sidecar/role': role },
  })
  const token = await podToken(cluster, p)
  secrets.push(token)
  return { pod: p, token }
}

/** Base64url-decodes, edits and re-encodes the claims of a JWT, keeping its signature. */
function withClaims(token: string, edit: (claims: Record<string, unknown>) => void): string {
  const [h, p, s] = token.split('.')
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >
  edit(claims)
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`
}

const wrongKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey

/** The token's header and edited claims, signed RS256 by a key the cluster does not know. */
function resign(token: string, edit: (claims: Record<string, unknown>) => void): string {
  const unsigned = withClaims(token, edit).split('.').slice(0, 2).join('.')
  const sig = createSign('RSA-SHA256').update(unsigned).sign(wrongKey).toString('base64url')
  return `${unsigned}.${sig}`
}

describe('token abuse against the real broker and API server', () => {
  it('refuses a replayed token once its pod is deleted (even after a successful, cached use)', async () => {
    const { token } = await pod(nsA, 'replay', 'web')
    assert.equal((await ask(token)).status, 200, 'served while the pod lives')
    await core.deleteNamespacedPod({ name: 'replay', namespace: nsA, gracePeriodSeconds: 0 })
    // The broker's informer sees the deletion a moment later; it must refuse within seconds.
    const deadline = Date.now() + 5000
    let res = await ask(token)
    let servedAfterDelete = 0
    while (res.status === 200 && Date.now() < deadline) {
      servedAfterDelete++
      await new Promise((r) => setTimeout(r, 100))
      res = await ask(token)
    }
    console.log(`# replay: served ${servedAfterDelete} time(s) after the delete before refusing`)
    assert.equal(res.status, 401, JSON.stringify(res.json))
    assert.match(res.json.code!, /^(PodNotFound|InvalidToken)$/)
    assert.match(res.json.message!, /does not exist|rejected by TokenReview/)
    // And it stays refused on every further replay.
    for (let i = 0; i < 3; i++)
      await refused(token, [401, /^(PodNotFound|InvalidToken)$/, /does not exist|rejected/])
  })

  it('refuses a pod of namespace B asking for the role that only namespace A permits', async () => {
    assert.equal((await ask((await pod(nsA, 'a-web', 'web')).token)).status, 200)
    const { token } = await pod(nsB, 'b-web', 'web')
    await refused(token, [
      403,
      /^RoleNotPermitted$/,
      new RegExp(`not permitted in namespace ${nsB}`),
    ])
    // A full ARN and a kube2iam annotation change nothing.
    const full = await createPod(cluster, {
      namespace: nsB,
      name: 'b-legacy',
      annotations: { 'iam.amazonaws.com/role': arn('web') },
    })
    const t2 = await podToken(cluster, full)
    secrets.push(t2)
    await refused(t2, [403, /^RoleNotPermitted$/, /is not permitted/])
  })

  it('refuses a token minted for another audience', async () => {
    const { pod: p } = await pod(nsA, 'aud', 'web')
    for (const audience of [
      'sts.amazonaws.com',
      'https://kubernetes.default.svc',
      'iam-sidecarx',
    ]) {
      const token = await podToken(cluster, p, { audience })
      secrets.push(token)
      // Refused by the broker's pre-check (its aud claim), before any TokenReview.
      await refused(token, [401, /^WrongAudience$/, /not issued for the audience "iam-sidecar"/])
    }
  })

  it('refuses an expired token (exp in the past, signed by a key the cluster never had)', async () => {
    // A genuinely expired projected token needs 10+ minutes: TokenRequest's minimum
    // expirationSeconds is 600. Instead: the claims of a real token with exp (and iat/nbf) moved
    // into the past, re-signed RS256 with a fresh key under the real header (same kid), and a
    // fully forged one. Expired by more than the clock skew it allows, the broker's pre-check
    // refuses them before any TokenReview; just expired, the API server's TokenReview does.
    const { token } = await pod(nsA, 'expired', 'web')
    const now = Math.floor(Date.now() / 1000)
    const past = resign(token, (c) =>
      Object.assign(c, { iat: now - 7200, nbf: now - 7200, exp: now - 3600 }),
    )
    secrets.push(past)
    await refused(past, [401, /^TokenExpired$/, /expired at .*, 36\d\d s ago/])
    const rng = new Rng(7)
    const expected: [number, RegExp][] = [
      [1, /^(TokenExpired|TokenUnsigned)$/],
      [now - 60, /^(InvalidToken|WrongAudience|TokenUnsigned)$/],
    ]
    for (const [exp, code] of expected) {
      const forged = forgedJwt(rng, { exp })
      secrets.push(forged)
      await refused(forged, [
        401,
        code,
        /expired|signing algorithm|audience|rejected by TokenReview/,
      ])
    }
  })

  it('refuses a token that is not bound to a pod', async () => {
    const { pod: p } = await pod(nsA, 'unbound', 'web')
    const token = await podToken(cluster, p, { bound: false })
    secrets.push(token)
    await refused(token, [401, /^TokenNotPodBound$/, /not bound to a pod/])
  })

  it('refuses a real token with a flipped signature byte, and one with an edited claim', async () => {
    const { token } = await pod(nsA, 'forge', 'web')
    const { pod: other } = await pod(nsA, 'forge-victim', 'web')
    const [h, p, s] = token.split('.')
    const sig = Buffer.from(s!, 'base64url')
    sig[10] = sig[10]! ^ 0x01
    const flipped = `${h}.${p}.${sig.toString('base64url')}`
    await refused(flipped, [401, /^InvalidToken$/, /rejected by TokenReview/])
    const edited = withClaims(token, (c) => {
      const k8s = c['kubernetes.io'] as { pod: { name: string; uid: string } }
      k8s.pod = { name: 'forge-victim', uid: other.metadata!.uid! }
    })
    await refused(edited, [401, /^InvalidToken$/, /rejected by TokenReview/])
    const later = withClaims(token, (c) => (c.exp = (c.exp as number) + 86_400 * 365))
    await refused(later, [401, /^InvalidToken$/, /rejected by TokenReview/])
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`
    await refused(none, [401, /^TokenNotJwt$/, /not a JWT/])
    // The genuine token still works: the refusals did not poison any cache.
    assert.equal((await ask(token)).status, 200)
  })

  it("in node mode, refuses another node's pod token", async () => {
    nodeBroker = await startRealBroker(cluster, ['--mode=node', '--node-name=node-b'])
    const { token } = await pod(nsA, 'on-node-a', 'web', 'node-a')
    await refused(
      token,
      [403, /^WrongNode$/, /serves node node-b only; pod .* runs on node-a/],
      nodeBroker,
    )
    // Even after the cluster-mode broker served (and cached) it.
    assert.equal((await ask(token)).status, 200)
    await refused(token, [403, /^WrongNode$/, /serves node node-b only/], nodeBroker)
  })

  it('evaluates pathological permitted patterns in bounded time (< 1 s per request)', async () => {
    const timings: string[] = []
    for (const [i, pattern] of HOSTILE_POLICIES.entries()) {
      const ns = await cluster.freshNamespace('redos', {}, { 'iam-sidecar/permitted': pattern })
      await createServiceAccount(cluster, ns)
      // Valid role names built to make backtracking engines explode, and to match none.
      const role = `${(i % 2 === 0 ? 'a' : 'x').repeat(60)}@`
      const { token } = await pod(ns, 'p', role)
      const ms = await refused(token, [403, /^(RoleNotPermitted|InvalidNamespacePolicy)$/, /./])
      timings.push(`${pattern.slice(0, 24)}: ${ms.toFixed(0)} ms`)
      assert.ok(ms < 1000, `${pattern.slice(0, 40)} took ${ms.toFixed(0)} ms`)
    }
    console.log(`# policy timings: ${timings.join('; ')}`)
  })

  it("evaluates them in bounded time as kiam's (kiam-v3) and kube2iam's (regexp) annotations too", async () => {
    const timings: string[] = []
    for (const [i, pattern] of HOSTILE_POLICIES.entries()) {
      const variants: Record<string, string>[] = [
        { 'iam.amazonaws.com/permitted': pattern },
        { 'iam.amazonaws.com/allowed-roles': JSON.stringify([pattern, `x${pattern}`]) },
      ]
      for (const annotations of variants) {
        const ns = await cluster.freshNamespace('redos-legacy', {}, annotations)
        await createServiceAccount(cluster, ns)
        const { token } = await pod(ns, 'p', `${(i % 2 === 0 ? 'a' : 'x').repeat(60)}@`)
        // Unanchored, some of them match: any answer will do, in bounded time and without a leak.
        const res = await ask(token)
        assert.ok([200, 403].includes(res.status), JSON.stringify(res.json))
        if (res.status === 403)
          assert.match(res.json.code ?? '', /^(RoleNotPermitted|InvalidNamespacePolicy)$/)
        timings.push(`${pattern.slice(0, 16)}: ${res.ms.toFixed(0)} ms`)
        assert.ok(res.ms < 1000, `${pattern.slice(0, 40)} took ${res.ms.toFixed(0)} ms`)
      }
    }
    console.log(`# legacy policy timings: ${timings.join('; ')}`)
  })

  it('no token or issued secret appears in any refusal or broker log', () => {
    const haystacks = [...refusals, broker.logs(), nodeBroker?.logs() ?? '']
    const found = scanForSecrets(haystacks, secrets)
    console.log(`# scanned ${haystacks.length} haystacks for ${new Set(secrets).size} secrets`)
    assert.equal(found.leaks, 0, found.where.join('\n'))
  })
})
