// Seeded hostile-input generators for the three HTTP surfaces (sidecar GET /v1/credentials,
// broker GET /v1/credentials, injector POST /mutate) and a bounded-concurrency sender. Everything
// is deterministic for a seed (mulberry32), every loop is bounded, and only loopback is used.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'

/** mulberry32: a tiny, fast, seeded 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

export class Rng {
  readonly #next: () => number
  constructor(seed: number) {
    this.#next = mulberry32(seed)
  }
  int(n: number): number {
    return Math.floor(this.#next() * n)
  }
  chance(p: number): boolean {
    return this.#next() < p
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = this.int(256)
    return b
  }
  /** Printable ASCII (0x21–0x7e). */
  ascii(n: number): string {
    let s = ''
    for (let i = 0; i < n; i++) s += String.fromCharCode(0x21 + this.int(94))
    return s
  }
  b64url(n: number): string {
    let s = ''
    for (let i = 0; i < n; i++) s += B64URL[this.int(64)]
    return s
  }
}

/** One request. `raw` requests are written verbatim to a fresh socket (Node's client would refuse
 * their bytes); the others go through a keep-alive agent. */
export interface FuzzCase {
  /** The generator family, for reports. */
  readonly family: string
  readonly method: string
  readonly path: string
  readonly headers: readonly (readonly [string, string])[]
  readonly body?: Buffer
  readonly raw?: Buffer
  /** Statuses that are right for this input. 0 = the server may drop the connection. */
  readonly allowed: readonly number[]
  /** For a well-formed AdmissionReview: the uid the response must echo. */
  readonly reviewUid?: string
}

export interface FuzzResult {
  readonly c: FuzzCase
  readonly status: number
  readonly body: string
  readonly error?: string
}

// ---------------------------------------------------------------------------------------------
// Shared hostile building blocks

export const PATH_TRICKS: readonly string[] = [
  '/v1/credentials/..',
  '//v1/credentials',
  '/v1/credentials/',
  '/v1//credentials',
  '/v1/%2e%2e/v1/credentials',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/v1/credentials%00',
  '/v1/credentials%00.json',
  '/v1/cred%65ntials',
  '/V1/CREDENTIALS',
  '/v1/credentials;x=1',
  '/v1/credentials/%2F..',
  '/v1/credentials/..%2f..%2fhealthz',
  '/./v1/credentials',
  '/v1/./credentials',
  '/mutate/..',
  '//mutate',
  '/mutate%00',
  '/%ff%fe',
  '/%c0%ae%c0%ae/',
  '/healthz/../v1/credentials',
  '*',
  '/' + 'a'.repeat(2000),
]

export const HOSTILE_STRINGS: readonly string[] = [
  'a'.repeat(10 * 1024),
  '${jndi:ldap://127.0.0.1/x}',
  '${env:AWS_SECRET_ACCESS_KEY}',
  '$(id)',
  '`id`',
  '../../../etc/passwd',
  '..%2f..%2fadmin',
  'arn:aws:iam::123456789012:role/../admin',
  'аdmin', // Cyrillic а
  'ａｄｍｉｎ', // fullwidth
  'web\u202eadmin', // right-to-left override
  'web\u0000admin',
  'web\r\nX-Injected: 1',
  '\u0007\u001b[31mred\u001b[0m',
  '(a+)+$',
  '((a|a)*)*b',
  '\ud800', // lone surrogate
  '😀'.repeat(300),
  '',
  ' ',
  'arn:aws:iam::123456789012:role/' + 'x'.repeat(3000),
  '{"role":"admin"}',
  '<script>alert(1)</script>',
]

/** Pathological `permitted` patterns for namespaces the tests create. */
export const HOSTILE_POLICIES: readonly string[] = [
  '(a+)+$',
  '((a|a)*)*b',
  '(.*a){20}',
  '(x+x+)+y',
  '^(([a-z])+.)+[A-Z]([a-z])+$',
  '(a|aa)+$',
  'a{1000}{1000}',
  '(',
  '\\',
  '(?<=a)b',
  '.*'.repeat(200) + 'z',
  '[' + 'a-z'.repeat(500) + ']+',
  // RE2 syntax: the slowest shape found for re2js (a Unicode class defeats its DFA), a program
  // that re2js would take a second to compile (refused before compiling), flags and word
  // boundaries on classics. None of them permits a valid role ARN.
  '(?:\\pL{100}){10}',
  `(?:${'a'.repeat(1000)}){1000}`,
  '(?i)(a+)+$',
  '\\b(\\w+\\b\\W*)+!$',
  '[[:alpha:][:digit:]]{1000}',
]

function jsonDeep(depth: number, open = '[', close = ']'): string {
  return open.repeat(depth) + close.repeat(depth)
}

function deepObject(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
}

function b64urlJson(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64url')
}

/** A JWT that looks like a projected ServiceAccount token but is signed by nobody. */
export function forgedJwt(rng: Rng, o: { exp?: number; payload?: object } = {}): string {
  const now = Math.floor(Date.now() / 1000)
  const header = { alg: rng.pick(['RS256', 'ES256', 'none', 'HS256']), kid: rng.b64url(43) }
  const payload = o.payload ?? {
    aud: [rng.pick(['iam-sidecar', 'https://kubernetes.default.svc', 'sts.amazonaws.com'])],
    exp: o.exp ?? now + 3600,
    iat: now,
    iss: 'https://kubernetes.default.svc.cluster.local',
    'kubernetes.io': {
      namespace: rng.pick(['default', 'kube-system', 'tenant-a']),
      node: { name: 'node-a', uid: crypto.randomUUID() },
      pod: { name: 'web-1', uid: crypto.randomUUID() },
      serviceaccount: { name: 'app', uid: crypto.randomUUID() },
    },
    nbf: now,
    sub: 'system:serviceaccount:default:app',
  }
  return `${b64urlJson(header)}.${b64urlJson(payload)}.${rng.b64url(342)}`
}

function headerFlood(rng: Rng, count: number): [string, string][] {
  return Array.from({ length: count }, (_, i) => [`x-flood-${i}`, rng.ascii(1 + rng.int(40))])
}

/** A raw HTTP/1.1 request; `head` lines are written as given (CRLF added). */
function rawRequest(
  requestLine: Buffer | string,
  head: readonly string[],
  body: Buffer = Buffer.alloc(0),
): Buffer {
  const line = typeof requestLine === 'string' ? Buffer.from(requestLine, 'latin1') : requestLine
  const rest = Buffer.from(
    [...head, 'Connection: close', `Content-Length: ${body.length}`, '', ''].join('\r\n'),
    'latin1',
  )
  return Buffer.concat([line, Buffer.from('\r\n'), rest, body])
}

/** Requests that only a raw socket can send: invalid UTF-8 paths, control bytes, bad framing. */
function rawHostile(rng: Rng, host: string, path: string, auth: string): Buffer {
  const k = rng.int(10)
  const h = [`Host: ${host}`, `Authorization: ${auth}`]
  const bad = rng.bytes(1 + rng.int(8))
  switch (k) {
    case 0:
      return rawRequest(
        Buffer.concat([Buffer.from(`GET ${path}/`), bad, Buffer.from(' HTTP/1.1')]),
        h,
      )
    case 1:
      return rawRequest(
        Buffer.from([
          ...Buffer.from('GET /v1/cred'),
          0xc0,
          0xaf,
          ...Buffer.from('entials HTTP/1.1'),
        ]),
        h,
      )
    case 2:
      return rawRequest(`GET ${path} HTTP/1.1`, [...h, `X-Bad: a\u0001b\u0000c`])
    case 3:
      return rawRequest(`GET ${path} HTTP/1.1`, [...h, 'Transfer-Encoding: chunked'])
    case 4:
      return rawRequest(`GET ${path} HTTP/1.1`, [...h, `Host: evil.example`])
    case 5:
      return rawRequest(`GET ${path}`, h)
    case 6:
      return rawRequest(`GET ${path} HTTP/1.1`, [...h, 'no-colon-header'])
    case 7:
      return rawRequest(`G\u00e9T ${path} HTTP/1.1`, h)
    case 8:
      return rawRequest(`GET ${path} HTTP/1.1`, [`Authorization: ${auth}`])
    default:
      return rawRequest(
        `GET ${path} HTTP/1.1`,
        [...h, `Authorization: ${Buffer.from(bad).toString('latin1')}`],
        rng.bytes(rng.int(64)),
      )
  }
}

// ---------------------------------------------------------------------------------------------
// Sidecar

const CREDENTIALS = '/v1/credentials'

/** Whether a WHATWG URL parser (what the servers route on) turns `path` into `target`. */
export function normalisesTo(path: string, target: string): boolean {
  try {
    return decodeURIComponent(new URL(path, 'http://127.0.0.1').pathname) === target
  } catch {
    return false
  }
}

export interface SidecarTarget {
  readonly port: number
  readonly secret: string
}

const SIDECAR_REFUSALS = [400, 401, 403, 404, 405, 431]

function secretVariant(rng: Rng, secret: string): string {
  switch (rng.int(8)) {
    case 0:
      return secret.slice(0, -1)
    case 1:
      return secret + 'x'
    case 2:
      return `Bearer ${secret}`
    case 3:
      return secret.toUpperCase() === secret ? secret.toLowerCase() : secret.toUpperCase()
    case 4:
      return secret.slice(0, 8)
    case 5:
      return rng.ascii(1 + rng.int(200))
    case 6:
      return rng.b64url(secret.length)
    default:
      return `${secret.slice(0, secret.length >> 1)}${rng.ascii(secret.length - (secret.length >> 1))}`
  }
}

/** One hostile request for the sidecar; `i` spreads the cases over the families. */
export function sidecarCase(rng: Rng, t: SidecarTarget, i: number): FuzzCase {
  const host = `127.0.0.1:${t.port}`
  const hostH: [string, string] = ['host', host]
  const authH: [string, string] = ['authorization', t.secret]
  const good: [string, string][] = [hostH, authH]
  const base = { method: 'GET', path: '/v1/credentials', headers: good }
  switch (i % 10) {
    case 0: {
      // A path that a URL parser normalises to the endpoint (`/./v1/credentials`,
      // `/healthz/../v1/credentials`, `%65`) is the endpoint: 200 with the right secret only.
      const path = rng.pick(PATH_TRICKS)
      const right = rng.chance(0.5)
      const headers: [string, string][] = right
        ? good
        : [hostH, ['authorization', secretVariant(rng, t.secret)]]
      const ok = right && normalisesTo(path, CREDENTIALS)
      return {
        ...base,
        family: 'path-trick',
        path,
        headers,
        allowed: ok ? [200] : SIDECAR_REFUSALS,
      }
    }
    case 1: {
      const method = rng.pick([
        'POST',
        'PUT',
        'DELETE',
        'PATCH',
        'OPTIONS',
        'TRACE',
        'PROPFIND',
        'CONNECT',
      ])
      // Node's server drops a CONNECT it has no handler for: no answer is the right answer.
      const allowed = method === 'CONNECT' ? [0] : SIDECAR_REFUSALS
      return { ...base, family: 'wrong-method', method, body: rng.bytes(rng.int(256)), allowed }
    }
    case 2:
    case 3:
      return {
        ...base,
        family: 'bad-secret',
        headers: [hostH, ['authorization', secretVariant(rng, t.secret)]],
        allowed: [401],
      }
    case 4:
      return {
        ...base,
        family: 'bad-host',
        headers: [
          [
            'host',
            rng.pick([
              'localhost',
              `localhost:${t.port}`,
              '127.0.0.1',
              `[::1]:${t.port}`,
              `127.0.0.1:${t.port}.evil.example`,
              `169.254.169.254`,
              `127.0.0.1:${t.port + 1}`,
              rng.ascii(30),
            ]),
          ],
          authH,
        ],
        allowed: [400, 403],
      }
    case 5: {
      const many = 50 + rng.int(400)
      return {
        ...base,
        family: 'header-flood',
        headers: [...good, ...headerFlood(rng, many)],
        allowed: [200, 431],
      }
    }
    case 6:
      return {
        ...base,
        family: 'huge-header',
        headers: [
          ...good,
          ['x-huge', 'h'.repeat(rng.pick([7 * 1024, 9 * 1024, 20 * 1024, 31 * 1024]))],
        ],
        allowed: [200, 431],
      }
    case 7:
      return {
        ...base,
        family: 'get-with-hostile-body',
        headers: [...good, ['content-type', 'application/json']],
        body: hostileJsonBody(rng),
        allowed: [200],
      }
    case 8:
      return {
        ...base,
        family: 'raw-bytes',
        raw: rawHostile(rng, host, rng.pick(['/v1/credentials', '/healthz', '/x']), t.secret),
        allowed: [200, ...SIDECAR_REFUSALS, 0],
      }
    default:
      return {
        ...base,
        family: 'random-authorization',
        headers: [hostH, ['authorization', `Bearer ${forgedJwt(rng)}`]],
        allowed: [401],
      }
  }
}

/** Malformed or deeply nested JSON, or plain garbage. Small (≤ ~40 KiB). */
export function hostileJsonBody(rng: Rng): Buffer {
  switch (rng.int(9)) {
    case 0:
      return Buffer.from(jsonDeep(10_000))
    case 1:
      return Buffer.from(deepObject(5_000))
    case 2:
      return Buffer.from('['.repeat(10_000))
    case 3:
      return rng.bytes(1 + rng.int(512))
    case 4:
      return Buffer.concat([
        Buffer.from('{"a":"'),
        Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
        Buffer.from('"}'),
      ])
    case 5:
      return Buffer.from('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}')
    case 6:
      return Buffer.from(`{"n":1e999999,"m":-0,"s":"\\ud800","k":${'9'.repeat(400)}}`)
    case 7:
      return Buffer.from('\ufeff{"apiVersion":"admission.k8s.io/v1"')
    default:
      return Buffer.from(
        rng.pick(['', 'null', 'true', '"x"', '[]', '{}', '{"a":1,}', "{'a':1}", 'NaN']),
      )
  }
}

// ---------------------------------------------------------------------------------------------
// Broker

const BROKER_REFUSALS = [400, 401, 404, 405, 431]

export function brokerCase(rng: Rng, i: number): FuzzCase {
  const bearer = (v: string): [string, string][] => [['authorization', v]]
  const base = { method: 'GET', path: '/v1/credentials', allowed: BROKER_REFUSALS }
  switch (i % 10) {
    case 0:
      return {
        ...base,
        family: 'path-trick',
        path: rng.pick(PATH_TRICKS),
        headers: bearer(`Bearer ${forgedJwt(rng)}`),
      }
    case 1:
      return {
        ...base,
        family: 'wrong-method',
        method: rng.pick(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']),
        headers: bearer(`Bearer ${forgedJwt(rng)}`),
        body: rng.bytes(rng.int(256)),
      }
    case 2:
    case 3:
      return {
        ...base,
        family: 'forged-jwt',
        headers: bearer(`Bearer ${forgedJwt(rng, { exp: rng.chance(0.3) ? 1 : undefined })}`),
      }
    case 4:
      return {
        ...base,
        family: 'random-bearer',
        headers: bearer(`Bearer ${rng.b64url(1 + rng.int(2000))}`),
      }
    case 5:
      return {
        ...base,
        family: 'malformed-authorization',
        headers: bearer(
          rng.pick([
            'Bearer',
            'Bearer ',
            'bearer abc',
            'Bearer  abc',
            `Basic ${Buffer.from('a:b').toString('base64')}`,
            `Bearer ${'A'.repeat(16 * 1024 + 1)}`,
            `Bearer ${rng.ascii(100)}`,
            `Bearer ${forgedJwt(rng)}, Bearer ${forgedJwt(rng)}`,
            `Bearer ${rng.b64url(20)}\u00ff`,
          ]),
        ),
      }
    case 6:
      return {
        ...base,
        family: 'nested-jwt-payload',
        headers: bearer(
          `Bearer ${b64urlJson({ alg: 'RS256' })}.${Buffer.from(rng.chance(0.5) ? jsonDeep(4_000) : deepObject(2_000)).toString('base64url')}.${rng.b64url(64)}`,
        ),
      }
    case 7: {
      const flood = rng.chance(0.5)
      return {
        ...base,
        family: flood ? 'header-flood' : 'huge-header',
        headers: [
          ...bearer(`Bearer ${forgedJwt(rng)}`),
          ...(flood
            ? headerFlood(rng, 50 + rng.int(500))
            : [['x-huge', 'h'.repeat(rng.pick([20_000, 33_000, 64_000]))] as [string, string]]),
        ],
      }
    }
    case 8:
      return {
        ...base,
        family: 'raw-bytes',
        headers: [],
        raw: rawHostile(rng, '127.0.0.1', '/v1/credentials', `Bearer ${forgedJwt(rng)}`),
        allowed: [...BROKER_REFUSALS, 0],
      }
    default:
      return {
        ...base,
        family: 'get-with-hostile-body',
        headers: bearer(`Bearer ${rng.b64url(300)}`),
        body: hostileJsonBody(rng),
      }
  }
}

// ---------------------------------------------------------------------------------------------
// Injector

export const MAX_REVIEW_BYTES = 3 * 1024 * 1024
const INJECTOR_REFUSALS = [400, 404, 405, 413, 415, 431]

export interface InjectorTarget {
  /** Namespaces that exist, each with a hostile `iam-sidecar/permitted` annotation. */
  readonly namespaces: readonly string[]
}

function uid(rng: Rng): string {
  return `${rng.b64url(8).replace(/[_]/g, 'a')}-fuzz`
}

function hostilePod(rng: Rng, ns: string): object {
  const role = rng.pick(HOSTILE_STRINGS)
  const annotations: Record<string, string> = {
    'iam-sidecar/inject': rng.pick(['true', 'false', '', 'TRUE', rng.pick(HOSTILE_STRINGS)]),
    [rng.pick(['iam-sidecar/role', 'iam.amazonaws.com/role'])]: role,
  }
  if (rng.chance(0.3)) annotations['iam-sidecar/skip-containers'] = rng.pick(HOSTILE_STRINGS)
  if (rng.chance(0.2)) annotations['iam-sidecar/external-id'] = rng.pick(HOSTILE_STRINGS)
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: rng.chance(0.5) ? 'p' : undefined,
      generateName: 'g-',
      namespace: ns,
      annotations,
    },
    spec: {
      serviceAccountName: rng.chance(0.8) ? 'app' : rng.pick(HOSTILE_STRINGS),
      containers: [
        {
          name: rng.chance(0.9) ? 'main' : rng.pick(HOSTILE_STRINGS),
          image: 'registry.k8s.io/pause:3.10',
          env: rng.chance(0.2)
            ? [{ name: 'AWS_ACCESS_KEY_ID', value: rng.pick(HOSTILE_STRINGS) }]
            : undefined,
        },
      ],
    },
  }
}

function review(u: string, request: object): Buffer {
  return Buffer.from(
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: u, ...request },
    }),
  )
}

function validReview(rng: Rng, t: InjectorTarget): FuzzCase {
  const u = uid(rng)
  const ns = rng.chance(0.85)
    ? rng.pick(t.namespaces)
    : rng.pick(['absent-ns', 'a'.repeat(253), 'UPPER', 'kube-system'])
  return {
    family: 'hostile-annotations',
    method: 'POST',
    path: '/mutate',
    headers: [['content-type', 'application/json']],
    body: review(u, {
      kind: { group: '', version: 'v1', kind: 'Pod' },
      operation: 'CREATE',
      namespace: ns,
      object: hostilePod(rng, ns),
    }),
    allowed: [200],
    reviewUid: u,
  }
}

function brokenReview(rng: Rng): FuzzCase {
  const u = uid(rng)
  const variants: (() => Buffer)[] = [
    () => review(u, {}).subarray(0, 20 + rng.int(60)),
    () =>
      Buffer.from(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: { uid: rng.pick(['', 'a'.repeat(129), 'a/b', '../x', 'é', 'a\nb']) },
        }),
      ),
    () =>
      Buffer.from(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: { uid: rng.pick([1, null, [], {}]) },
        }),
      ),
    () =>
      Buffer.from(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1beta1',
          kind: 'AdmissionReview',
          request: { uid: u },
        }),
      ),
    () =>
      Buffer.from(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: null,
        }),
      ),
    () =>
      Buffer.from(
        `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":${jsonDeep(10_000)}}`,
      ),
    () => hostileJsonBody(rng),
  ]
  return {
    family: 'malformed-review',
    method: 'POST',
    path: '/mutate',
    headers: [['content-type', 'application/json']],
    body: rng.pick(variants)(),
    allowed: [400],
  }
}

/** Deeply nested values inside an otherwise valid review: still a review, so 200 echoing the uid. */
function nestedReview(rng: Rng, t: InjectorTarget): FuzzCase {
  const u = uid(rng)
  const ns = rng.pick(t.namespaces)
  const pod = JSON.stringify(hostilePod(rng, ns))
  const deep = rng.chance(0.5) ? jsonDeep(10_000) : deepObject(5_000)
  const body = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"${u}","kind":{"kind":"Pod"},"operation":"CREATE","namespace":"${ns}","object":${pod.slice(0, -1)},"extra":${deep}},"deep":${deep}}}`
  return {
    family: 'nested-in-review',
    method: 'POST',
    path: '/mutate',
    headers: [['content-type', 'application/json']],
    body: Buffer.from(body),
    allowed: [200],
    reviewUid: u,
  }
}

export function injectorCase(rng: Rng, t: InjectorTarget, i: number): FuzzCase {
  const json: [string, string][] = [['content-type', 'application/json']]
  const base = { method: 'POST', path: '/mutate', headers: json, allowed: INJECTOR_REFUSALS }
  switch (i % 10) {
    case 0:
    case 1:
    case 2:
      return validReview(rng, t)
    case 3:
    case 4:
      return brokenReview(rng)
    case 5:
      return nestedReview(rng, t)
    case 6:
      return {
        ...base,
        family: 'path-trick',
        path: rng.pick(PATH_TRICKS),
        body: review(uid(rng), {}),
      }
    case 7:
      return {
        ...base,
        family: 'wrong-method-or-type',
        method: rng.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'POST']),
        headers: [
          [
            'content-type',
            rng.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/yaml', '']),
          ],
        ],
        body: review(uid(rng), {}),
      }
    case 8:
      return {
        ...base,
        family: 'raw-bytes',
        raw: rawHostile(rng, '127.0.0.1', '/mutate', 'x'),
        allowed: [...INJECTOR_REFUSALS, 0],
      }
    default:
      return {
        ...base,
        family: rng.chance(0.5) ? 'header-flood' : 'huge-header',
        headers: [
          ...json,
          ...(rng.chance(0.5)
            ? headerFlood(rng, 100 + rng.int(500))
            : [['x-huge', 'h'.repeat(rng.pick([20_000, 40_000]))] as [string, string]]),
        ],
        body: review(uid(rng), {}),
        allowed: [...INJECTOR_REFUSALS, 200],
      }
  }
}

/** The few oversized bodies: just over the 3 MiB limit and twice it, JSON and not. */
export function oversizedInjectorCases(rng: Rng): FuzzCase[] {
  const sizes = [
    MAX_REVIEW_BYTES + 1,
    MAX_REVIEW_BYTES + 1,
    2 * MAX_REVIEW_BYTES,
    2 * MAX_REVIEW_BYTES,
  ]
  return sizes.map((n, k) => {
    const prefix = Buffer.from(
      `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"${uid(rng)}","pad":"`,
    )
    const body = Buffer.alloc(n, k % 2 === 0 ? 0x61 : 0xff)
    prefix.copy(body)
    return {
      family: 'oversized',
      method: 'POST',
      path: '/mutate',
      headers: [['content-type', 'application/json']],
      body,
      allowed: [413, 0],
    }
  })
}

// ---------------------------------------------------------------------------------------------
// Sending

export interface Endpoint {
  readonly port: number
  /** CA to trust for HTTPS; absent = plain HTTP. */
  readonly ca?: string | Buffer
}

export interface Sender {
  send(c: FuzzCase): Promise<FuzzResult>
  /** Requests whose pooled keep-alive connection was reset and that were resent once on a fresh
   * connection (what every HTTP client does for an idempotent request on a reused socket). */
  readonly retries: number
  close(): void
}

const TIMEOUT_MS = 10_000

export function makeSender(e: Endpoint): Sender {
  const agent = e.ca
    ? new HttpsAgent({ keepAlive: true, maxSockets: 64, ca: e.ca })
    : new HttpAgent({ keepAlive: true, maxSockets: 64 })
  let retries = 0
  const send = async (c: FuzzCase): Promise<FuzzResult> => {
    if (c.raw) return sendRaw(e, c)
    const r = await sendHttp(e, agent, c)
    if (r.status !== 0 || c.allowed.includes(0)) return r
    retries++
    return sendHttp(e, false, c)
  }
  return {
    send,
    get retries() {
      return retries
    },
    close: () => agent.destroy(),
  }
}

function sendHttp(e: Endpoint, agent: HttpAgent | false, c: FuzzCase): Promise<FuzzResult> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {}
    for (const [k, v] of c.headers) headers[k] = v
    // Node's client sends a GET/DELETE/OPTIONS body with no framing at all; the server would then
    // (rightly) parse the body as the next request on the connection.
    if (c.body && c.body.length > 0) headers['content-length'] = String(c.body.length)
    const opts = {
      host: '127.0.0.1',
      port: e.port,
      method: c.method,
      path: c.path,
      agent,
      headers,
      timeout: TIMEOUT_MS,
    }
    const done = (status: number, body: string, error?: string): void =>
      resolve({ c, status, body, error })
    const onRes = (res: IncomingMessage): void => {
      const chunks: Buffer[] = []
      res.on('data', (d: Buffer) => chunks.push(d))
      res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')))
      res.on('error', (err) =>
        done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), err.message),
      )
    }
    let req
    try {
      req = e.ca ? httpsRequest({ ...opts, ca: e.ca }, onRes) : httpRequest(opts, onRes)
    } catch (err) {
      // The client refused to send it (its own validation): not the server's doing.
      return done(-1, '', `client: ${(err as Error).message}`)
    }
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (err) => done(0, '', err.message))
    req.end(c.body)
  })
}

function sendRaw(e: Endpoint, c: FuzzCase): Promise<FuzzResult> {
  return new Promise((resolve) => {
    const sock: Socket = e.ca
      ? tlsConnect({ host: '127.0.0.1', port: e.port, ca: e.ca })
      : netConnect({ host: '127.0.0.1', port: e.port })
    const chunks: Buffer[] = []
    let settled = false
    const finish = (error?: string): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      sock.destroy()
      const text = Buffer.concat(chunks).toString('latin1')
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text)
      const at = text.indexOf('\r\n\r\n')
      resolve({ c, status: m ? Number(m[1]) : 0, body: at >= 0 ? text.slice(at + 4) : text, error })
    }
    const timer = setTimeout(() => finish('timeout'), TIMEOUT_MS)
    sock.once(e.ca ? 'secureConnect' : 'connect', () => sock.write(c.raw!))
    sock.on('data', (d: Buffer) => chunks.push(d))
    sock.on('end', () => finish())
    sock.on('close', () => finish())
    sock.on('error', (err) => finish(err.message))
  })
}

/** Runs `cases` through `send` with at most `concurrency` in flight; `every` runs between
 * batches of `probeEvery` cases (e.g. a liveness probe). */
export async function runBounded(
  cases: Iterable<FuzzCase>,
  send: (c: FuzzCase) => Promise<FuzzResult>,
  o: {
    concurrency: number
    onResult: (r: FuzzResult) => void
    probeEvery?: number
    probe?: () => Promise<void>
  },
): Promise<number> {
  const it = cases[Symbol.iterator]()
  let sent = 0
  let sinceProbe = 0
  let probing: Promise<void> | undefined
  const worker = async (): Promise<void> => {
    for (;;) {
      const n = it.next()
      if (n.done) return
      sent++
      o.onResult(await send(n.value))
      if (o.probe && o.probeEvery && ++sinceProbe >= o.probeEvery) {
        sinceProbe = 0
        probing = o.probe()
        await probing
      }
    }
  }
  await Promise.all(Array.from({ length: o.concurrency }, worker))
  await probing
  return sent
}

/** Lazily generated cases (bounded by `n`): nothing big is held in memory at once. */
export function* generate(n: number, make: (i: number) => FuzzCase): Generator<FuzzCase> {
  for (let i = 0; i < n; i++) yield make(i)
}

/** Problems in one result, judged against the case's allowed statuses. */
export function judge(r: FuzzResult): string | undefined {
  const what = `${r.c.family} ${r.c.method} ${JSON.stringify(r.c.path.slice(0, 60))}`
  if (r.status === -1) return undefined
  if (!r.c.allowed.includes(r.status))
    return `${what}: status ${r.status} not in [${r.c.allowed.join(',')}] ${r.error ?? ''} ${r.body.slice(0, 200)}`
  if (r.c.reviewUid !== undefined) {
    let uidOut: unknown
    try {
      uidOut = (JSON.parse(r.body) as { response?: { uid?: unknown } }).response?.uid
    } catch {
      uidOut = undefined
    }
    if (uidOut !== r.c.reviewUid)
      return `${what}: review uid ${r.c.reviewUid} not echoed: ${r.body.slice(0, 200)}`
  }
  if (/SecretAccessKey|"Token"\s*:/.test(r.body) && r.status !== 200)
    return `${what}: a refusal carries credentials`
  return undefined
}
