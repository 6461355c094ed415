// toxiproxy (Shopify, built by scripts/peers/toxiproxy.sh) as a test peer: the server on a free
// loopback port under the peer guard, and a small client for its REST API. Tests put a proxy
// between two components (sidecar → broker, broker → API server) and inject TCP-level faults:
// latency, stalled connections, resets, or a cut link (proxy disabled).
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { backoffDelay } from '../../sidecar/schedule.ts'
import type { TestCluster } from '../peers/cluster.ts'
import { writeKubeconfig } from '../peers/control-plane.ts'
import { cacheRoot, peerVersions } from '../peers/paths.ts'
import { freePort } from '../peers/ports.ts'
import { startProcess, waitFor, type PeerProcess } from '../peers/process.ts'
import { httpsGet, startRealBroker, type TestBrokerRuntime } from './broker-fixture.ts'
import { createPod, createServiceAccount, podToken } from './pods.ts'
import { StsThrottleShim } from './sts-throttle-shim.ts'

/** Path of toxiproxy-server in the peer cache (same layout as scripts/peers/toxiproxy.sh). */
export function toxiproxyServerPath(): string {
  const path = join(
    cacheRoot(),
    'peers',
    `toxiproxy-${peerVersions().toxiproxy}`,
    'bin',
    'toxiproxy-server',
  )
  if (!existsSync(path))
    throw new Error(`peer toxiproxy missing at ${path}: run \`npm run peers -- toxiproxy\``)
  return path
}

export type Toxic =
  /** Delays every chunk by `latency` ms (± `jitter`). */
  | { type: 'latency'; attributes: { latency: number; jitter?: number } }
  /** Stops all data; closes the connection after `timeout` ms (0: holds it until removed). */
  | { type: 'timeout'; attributes: { timeout: number } }
  /** Resets the connection (TCP RST) after `timeout` ms (0: at once). */
  | { type: 'reset_peer'; attributes: { timeout: number } }
  /** Closes the connection after `bytes` bytes. */
  | { type: 'limit_data'; attributes: { bytes: number } }

export interface Proxy {
  readonly name: string
  /** `127.0.0.1:<port>` that clients connect to. */
  readonly listen: string
  readonly port: number
  /** Adds a toxic (on the downstream direction unless `stream` says otherwise); returns its name. */
  addToxic(toxic: Toxic & { stream?: 'upstream' | 'downstream'; name?: string }): Promise<string>
  removeToxic(name: string): Promise<void>
  /** Disabling closes the listener and every open connection: the link is cut. */
  setEnabled(enabled: boolean): Promise<void>
  /** Points the proxy at another upstream (`host:port`); open connections are closed. */
  setUpstream(upstream: string): Promise<void>
}

export interface Toxiproxy {
  readonly apiUrl: string
  readonly process: PeerProcess
  createProxy(name: string, upstream: string): Promise<Proxy>
  stop(): Promise<void>
}

export async function startToxiproxy(): Promise<Toxiproxy> {
  const logDir = mkdtempSync(join(tmpdir(), 'iam-sidecar-toxiproxy-'))
  const port = await freePort()
  const proc = startProcess(
    'toxiproxy',
    toxiproxyServerPath(),
    ['-host', '127.0.0.1', '-port', String(port)],
    { logDir },
  )
  const apiUrl = `http://127.0.0.1:${port}`
  try {
    await waitFor(proc, 'API up', async () => (await fetch(`${apiUrl}/version`)).ok, 20_000)
  } catch (err) {
    await proc.stop()
    rmSync(logDir, { recursive: true, force: true })
    throw err
  }

  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: HTTP ${res.status} ${text}`)
    return text ? (JSON.parse(text) as unknown) : undefined
  }

  let toxicSeq = 0
  return {
    apiUrl,
    process: proc,
    async createProxy(name, upstream) {
      const listenPort = await freePort()
      const listen = `127.0.0.1:${listenPort}`
      await call('POST', '/proxies', { name, listen, upstream, enabled: true })
      const path = `/proxies/${encodeURIComponent(name)}`
      return {
        name,
        listen,
        port: listenPort,
        async addToxic(t) {
          const toxicName = t.name ?? `${t.type}-${++toxicSeq}`
          await call('POST', `${path}/toxics`, {
            name: toxicName,
            type: t.type,
            stream: t.stream ?? 'downstream',
            toxicity: 1,
            attributes: t.attributes,
          })
          return toxicName
        },
        async removeToxic(toxicName) {
          await call('DELETE', `${path}/toxics/${encodeURIComponent(toxicName)}`)
        },
        async setEnabled(enabled) {
          await call('POST', path, { enabled })
        },
        async setUpstream(up) {
          await call('POST', path, { upstream: up })
        },
      }
    },
    async stop() {
      await proc.stop()
      rmSync(logDir, { recursive: true, force: true })
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Fault-scenario helpers shared by test/reliability/faults.test.ts and bench/reliability-faults.ts.

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

/** A long-running real SDK client (js-v3 in loop mode) against a sidecar; stops at its first error. */
export interface LoopClient {
  /** Successful GetCallerIdentity calls so far. */
  successes(): number
  /** SDK errors so far (the client exits at the first one, so 0 or 1). */
  errors(): number
  stderr(): string
  /** Stops the client; returns true when it was still running (no error ended it). */
  stop(): Promise<boolean>
}

export function startLoopClient(
  client: { command(): { cmd: string; args: string[] } },
  env: NodeJS.ProcessEnv,
  intervalMs: number,
): LoopClient {
  const { cmd, args } = client.command()
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...env,
      IAM_SIDECAR_CLIENT_LOOP: '1000000',
      IAM_SIDECAR_CLIENT_INTERVAL_MS: String(intervalMs),
    },
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const running = (): boolean => child.exitCode === null && child.signalCode === null
  return {
    successes: () => out.split('\n').filter((l) => l.startsWith('arn:')).length,
    errors: () => (/GetCallerIdentity failed/.test(err) ? 1 : 0),
    stderr: () => err,
    async stop() {
      const alive = running()
      if (alive) {
        child.kill('SIGTERM')
        await exited
      }
      return alive
    },
  }
}

/** The Expiration (epoch ms) a sidecar currently serves, or undefined when it serves none. */
export async function servedExpiration(sidecar: {
  url: string
  secretFile: string
}): Promise<number | undefined> {
  const res = await fetch(`${sidecar.url}/v1/credentials`, {
    headers: { authorization: readFileSync(sidecar.secretFile, 'utf8') },
  }).catch(() => undefined)
  if (!res?.ok) return undefined
  const body = (await res.json()) as { Expiration?: string }
  return body.Expiration ? Date.parse(body.Expiration) : undefined
}

/** Polls until the sidecar serves credentials expiring after `after`; returns when it saw them. */
export async function waitFreshCredentials(
  sidecar: { url: string; secretFile: string },
  after: number,
  timeoutMs: number,
): Promise<{ expiration: number; seenAt: number }> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const exp = await servedExpiration(sidecar)
    if (exp !== undefined && exp > after) return { expiration: exp, seenAt: Date.now() }
    if (Date.now() > deadline)
      throw new Error(`sidecar served no credentials newer than ${new Date(after).toISOString()}`)
    await sleep(100)
  }
}

export const FAULT_ACCOUNT = '123456789012' // moto's account: the broker's auto-detected base ARN
const PERMITTED = { 'iam-sidecar/permitted': `arn:aws:iam::${FAULT_ACCOUNT}:role/app-.*` }

async function brokerCall(
  broker: TestBrokerRuntime,
  token: string,
): Promise<{ status: number; code: string | undefined }> {
  try {
    const res = await httpsGet(`${broker.url}/v1/credentials`, broker.caFile, {
      authorization: `Bearer ${token}`,
    })
    let code: string | undefined = 'ok'
    if (res.status !== 200)
      try {
        code = (JSON.parse(res.body) as { code?: string }).code
      } catch {
        code = 'not-json'
      }
    return { status: res.status, code }
  } catch {
    return { status: 0, code: 'transport-error' }
  }
}

async function podsWithTokens(
  cluster: TestCluster,
  prefix: string,
  count: number,
): Promise<{ ns: string; tokens: string[] }> {
  const ns = await cluster.freshNamespace(prefix, {}, PERMITTED)
  await createServiceAccount(cluster, ns, 'app', { 'iam-sidecar/role': 'app-reader' })
  const tokens = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const pod = await createPod(cluster, { namespace: ns, name: `pod-${i}` })
      return podToken(cluster, pod)
    }),
  )
  return { ns, tokens }
}

export interface ThrottleFigures {
  readonly pods: number
  readonly windowSeconds: number
  readonly stsCallsHealthy: number
  readonly stsCallsThrottled: number
  readonly stsCallsPerMinHealthy: number
  readonly stsCallsPerMinThrottled: number
  /** Broker answers during the throttled window, `status code` → count. */
  readonly throttledAnswers: Readonly<Record<string, number>>
  /** After throttling stops: seconds until every pod got credentials again. */
  readonly recoverySeconds: number
}

/**
 * N pods ask the real broker (STS behind StsThrottleShim) the way sidecars with short sessions
 * do: again `intervalMs` after a success, after the sidecar's own backoff after a failure. The
 * broker keeps one session in its cache (`--cache-size=1`), so every request is a cache miss and
 * both windows carry the same cold load. Counts AssumeRole calls reaching STS in a healthy window
 * and in an equally long window where STS throttles every AssumeRole.
 */
export async function stsThrottleScenario(
  cluster: TestCluster,
  o: { pods: number; windowMs: number; intervalMs: number },
): Promise<ThrottleFigures> {
  const shim = await StsThrottleShim.start({ upstream: cluster.info.stsEndpoint })
  const broker = await startRealBroker(cluster, [`--sts-endpoint=${shim.url}`, '--cache-size=1'])
  let stop = false
  const loops: Promise<void>[] = []
  try {
    const { tokens } = await podsWithTokens(cluster, 'faults-sts', o.pods)
    const lastOk = tokens.map(() => 0)
    const answers: Record<string, number> = {}
    let recording = false
    const podLoop = async (i: number): Promise<void> => {
      let failures = 0
      // Spread the pods over one interval, as sidecars started at different times are.
      await sleep(Math.random() * o.intervalMs)
      while (!stop) {
        const r = await brokerCall(broker, tokens[i]!)
        if (recording)
          answers[`${r.status} ${r.code}`] = (answers[`${r.status} ${r.code}`] ?? 0) + 1
        if (r.status === 200) {
          lastOk[i] = Date.now()
          failures = 0
          await sleep(o.intervalMs)
        } else {
          await sleep(backoffDelay(failures++, Math.random))
        }
      }
    }
    for (let i = 0; i < tokens.length; i++) loops.push(podLoop(i))
    // Warm-up: every pod has had credentials once.
    const warm = Date.now() + 30_000
    while (lastOk.some((t) => t === 0) && Date.now() < warm) await sleep(100)
    if (lastOk.some((t) => t === 0)) throw new Error('not every pod got credentials in 30 s')

    const c0 = shim.assumeRoleRequests
    await sleep(o.windowMs)
    const c1 = shim.assumeRoleRequests
    shim.throttling = true
    recording = true
    await sleep(o.windowMs)
    recording = false
    const c2 = shim.assumeRoleRequests
    shim.throttling = false
    const off = Date.now()
    const deadline = off + 60_000
    while (lastOk.some((t) => t <= off) && Date.now() < deadline) await sleep(100)
    if (lastOk.some((t) => t <= off)) throw new Error('pods did not recover within 60 s')
    const perMin = (n: number): number => Math.round((n * 60_000) / o.windowMs)
    return {
      pods: o.pods,
      windowSeconds: o.windowMs / 1000,
      stsCallsHealthy: c1 - c0,
      stsCallsThrottled: c2 - c1,
      stsCallsPerMinHealthy: perMin(c1 - c0),
      stsCallsPerMinThrottled: perMin(c2 - c1),
      throttledAnswers: answers,
      recoverySeconds: (Math.max(...lastOk) - off) / 1000,
    }
  } finally {
    stop = true
    await Promise.allSettled(loops)
    await broker.close()
    await shim.close()
  }
}

export interface OutageFigures {
  readonly outageSeconds: number
  /** Requests of the already-authorised pod during the outage, and how many were not 200. */
  readonly knownPodCalls: number
  readonly knownPodErrors: number
  /** Answers to the new pod during the outage, `status code` → count. */
  readonly newPodAnswers: Readonly<Record<string, number>>
  /** After the link is back: seconds until the new pod gets credentials. */
  readonly recoverySeconds: number
}

/**
 * The real broker reaches the API server only through toxiproxy; the link is cut (proxy disabled)
 * for `outageMs`. An already-authorised pod keeps being served (TokenReview cache, stale-if-error,
 * informer, session cache); a pod created during the outage gets 503 until the link is back.
 * `during` runs while the link is cut (a benchmark adds its SDK client there).
 */
export async function apiserverOutageScenario(
  cluster: TestCluster,
  toxi: Toxiproxy,
  o: {
    outageMs: number
    pollMs: number
    onBroker?: (broker: TestBrokerRuntime, knownPodToken: string) => Promise<() => Promise<void>>
  },
): Promise<OutageFigures> {
  const proxy = await toxi.createProxy(
    `broker-apiserver-${process.pid}-${Date.now()}`,
    new URL(cluster.info.apiserverUrl).host,
  )
  const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-faults-kc-'))
  const kubeconfig = writeKubeconfig(dir, {
    // The API server certificate has IP SAN 127.0.0.1, so the proxied URL still verifies.
    server: `https://${proxy.listen}`,
    caFile: cluster.info.caCertFile,
    user: 'iam-sidecar-broker',
    token: cluster.info.tokens['iam-sidecar-broker'],
  })
  // A 1 s review TTL makes every request during the outage go to the API server and fall back
  // to the stale review, rather than being answered from a still-fresh one.
  const broker = await startRealBroker(cluster, [
    `--kubeconfig=${kubeconfig}`,
    '--token-review-ttl=1s',
  ])
  let stopExtra: (() => Promise<void>) | undefined
  try {
    const { ns, tokens } = await podsWithTokens(cluster, 'faults-api', 1)
    const known = tokens[0]!
    const first = await brokerCall(broker, known)
    if (first.status !== 200)
      throw new Error(`known pod not served before the outage: ${first.code}`)
    stopExtra = await o.onBroker?.(broker, known)
    await proxy.setEnabled(false)
    const cutAt = Date.now()
    // A pod created while the broker cannot reach the API server (created directly, not via
    // the proxy: only the broker's link is cut).
    const pod = await createPod(cluster, { namespace: ns, name: 'new-pod' })
    const fresh = await podToken(cluster, pod)
    let knownPodCalls = 0
    let knownPodErrors = 0
    const newPodAnswers: Record<string, number> = {}
    while (Date.now() - cutAt < o.outageMs) {
      const [a, b] = await Promise.all([brokerCall(broker, known), brokerCall(broker, fresh)])
      knownPodCalls++
      if (a.status !== 200) knownPodErrors++
      newPodAnswers[`${b.status} ${b.code}`] = (newPodAnswers[`${b.status} ${b.code}`] ?? 0) + 1
      await sleep(o.pollMs)
    }
    await proxy.setEnabled(true)
    const backAt = Date.now()
    const deadline = backAt + 60_000
    for (;;) {
      const b = await brokerCall(broker, fresh)
      if (b.status === 200) break
      if (Date.now() > deadline)
        throw new Error(`new pod not served 60 s after the link came back: ${b.status} ${b.code}`)
      await sleep(100)
    }
    return {
      outageSeconds: (backAt - cutAt) / 1000,
      knownPodCalls,
      knownPodErrors,
      newPodAnswers,
      recoverySeconds: (Date.now() - backAt) / 1000,
    }
  } finally {
    await stopExtra?.()
    await broker.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
