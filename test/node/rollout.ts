// A rolling restart of the injector and the broker (`kubectl rollout restart`, as an upgrade
// does) under a steady stream of work, on the real node:
//   - admissions: server dry-run creations of a pod that asks for injection, one after another
//     from two workers; a failure is an error or a pod stored without the sidecar;
//   - credential fetches: a keep-alive HTTPS client inside the pod network that calls the broker
//     pods as the sidecar's broker client does (two sockets, one retry when a reused socket was
//     reset: sidecar/broker-client.ts), with a real pod's projected token, going by the Service's
//     endpoints as they were ENDPOINT_LAG_MS ago (an emulated kube-proxy lag, see below);
//   - SDK calls: injected pods started during the rollout, whose Go SDK init container and JS SDK
//     app must get their role from a cold sidecar (which fetches from the broker while it rolls),
//     and a running app that calls STS every 2 s throughout.
// Used by the node test (which asserts none fails) and by bench/reliability-rollout.ts.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Kube } from './kubectl.ts'
import { until } from './kubectl.ts'
import { sidecarVolumeFile, type NodeClusterInfo } from './node-cluster.ts'
import { appPod, brokerCaPem, podsOf, RELEASE_NS, type Pod } from './tenant.ts'

export interface RolloutFigures {
  readonly rolloutMs: number
  readonly admissions: number
  readonly failedAdmissions: readonly string[]
  readonly fetches: number
  /** The first 20 failed fetches, and how many failed in all. */
  readonly failedFetches: readonly string[]
  readonly failedFetchCount: number
  /** SDK calls that failed: cold pods' init containers and apps, and the running app. */
  readonly sdkErrors: readonly string[]
  readonly coldPods: number
}

const COMPONENTS = ['injector', 'broker'] as const

// Runs in the pod network namespace. Calls the broker pods round-robin from the endpoint list
// it was last sent on stdin (one JSON array of URLs per line); stops when stdin closes and prints
// its counts.
const FETCH_LOOP = `
const https = require('node:https'), fs = require('node:fs')
const o = JSON.parse(process.env.REQ)
const agent = new https.Agent({ keepAlive: true, maxSockets: 2, ca: o.ca })
let stop = false, ok = 0, total = 0, next = 0, targets = []
const failed = []
let buf = ''
process.stdin.on('data', (d) => {
  buf += d
  const lines = buf.split('\\n')
  buf = lines.pop()
  for (const l of lines) if (l) targets = JSON.parse(l)
})
process.stdin.on('end', () => (stop = true))
function once(url, retried) {
  return new Promise((resolve) => {
    const req = https.request(url, { agent, servername: o.servername, timeout: 10000,
      headers: { authorization: 'Bearer ' + fs.readFileSync(o.tokenFile, 'utf8').trim() } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode === 200 ? '' : 'HTTP ' + res.statusCode))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (e) => {
      if (!retried && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE'))
        once(url, true).then(resolve)
      else resolve(e.code || e.message)
    })
    req.end()
  })
}
async function worker() {
  while (!stop) {
    if (targets.length === 0) { await new Promise((r) => setTimeout(r, 50)); continue }
    const url = targets[next++ % targets.length]
    const r = await once(url, false)
    total++
    if (r === '') ok++
    else failed.push(new Date().toISOString() + ' ' + url + ' ' + r)
    await new Promise((r) => setTimeout(r, 50))
  }
}
Promise.all([worker(), worker()]).then(() =>
  process.stdout.write(JSON.stringify({ ok, total, failed: failed.slice(0, 20), failedCount: failed.length })))
`

/**
 * How far behind the Service's endpoints the fetching client's view is. A kube-proxy on a busy
 * cluster applies EndpointSlice changes seconds late (and every node's does so on its own
 * schedule); the one test node's kube-proxy applies them at once, which would hide a server
 * that stops at SIGTERM. This emulated lag is what makes the test able to fail.
 */
export const ENDPOINT_LAG_MS = 3000

interface FetchLoop {
  stop(): Promise<{ total: number; failed: string[]; failedCount: number }>
}

function startFetchLoop(kube: Kube, node: NodeClusterInfo, req: object): FetchLoop {
  const child = spawn(
    'nsenter',
    [`--net=/var/run/netns/${node.netns}`, process.execPath, '-e', FETCH_LOOP],
    { env: { ...process.env, REQ: JSON.stringify(req) }, stdio: ['pipe', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  // Every 500 ms: the ready broker endpoints as they were ENDPOINT_LAG_MS ago.
  let polling = true
  const seen: { at: number; urls: string[] }[] = []
  const poll = (async () => {
    while (polling) {
      seen.push({ at: Date.now(), urls: await brokerEndpoints(kube).catch(() => []) })
      const due = seen.filter((v) => v.at <= Date.now() - ENDPOINT_LAG_MS).pop() ?? seen[0]!
      if (polling && due.urls.length > 0) child.stdin.write(JSON.stringify(due.urls) + '\n')
      await new Promise((r) => setTimeout(r, 500))
    }
  })()
  return {
    async stop() {
      polling = false
      await poll
      child.stdin.end()
      await exited
      return JSON.parse(out) as { total: number; failed: string[]; failedCount: number }
    },
  }
}

/** The broker Service's ready endpoints, from its EndpointSlices. */
export async function readyBrokerEndpoints(
  kube: Kube,
): Promise<{ address: string; port: number | undefined }[]> {
  const slices = await kube.json<{
    items: {
      ports?: { name?: string; port?: number }[]
      endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[]
    }[]
  }>([
    'get',
    'endpointslices',
    '-n',
    RELEASE_NS,
    '-l',
    'kubernetes.io/service-name=iam-sidecar-broker',
  ])
  return slices.items.flatMap((s) => {
    const port = s.ports?.find((p) => p.name === 'https')?.port
    return (s.endpoints ?? [])
      .filter((e) => e.conditions?.ready === true)
      .map((e) => ({ address: e.addresses[0]!, port }))
  })
}

/** The broker pods' https URLs. */
async function brokerEndpoints(kube: Kube): Promise<string[]> {
  return (await readyBrokerEndpoints(kube))
    .filter((e) => e.port !== undefined)
    .map((e) => `https://${e.address}:${e.port}/v1/credentials`)
}

/** The lines of a container's log since `since` that report a failed SDK call, labelled. */
async function failedCalls(
  kube: Kube,
  at: { ns: string; pod: string; container: string; since: string },
): Promise<string[]> {
  const log = await kube
    .kubectl(['logs', '-n', at.ns, at.pod, '-c', at.container, `--since-time=${at.since}`])
    .catch(() => '')
  return log
    .split('\n')
    .filter((line) => /failed/i.test(line))
    .map((line) => `${at.pod}/${at.container}: ${line}`)
}

/** Old pods of both components gone: only the new ReplicaSets' pods remain, all Ready. */
async function settled(kube: Kube): Promise<true | undefined> {
  for (const c of COMPONENTS) {
    const pods = await podsOf(kube, RELEASE_NS, `app.kubernetes.io/component=${c}`)
    const hashes = new Set(pods.map((p) => p.metadata.labels?.['pod-template-hash']))
    if (hashes.size !== 1 || pods.some((p) => p.metadata.deletionTimestamp)) return undefined
  }
  return true
}

export async function rolloutUnderLoad(
  kube: Kube,
  node: NodeClusterInfo,
  o: { tenant: string; runningApp: Pod; coldPods?: number; role: (name: string) => string },
): Promise<RolloutFigures> {
  const since = new Date().toISOString()
  const fetches = startFetchLoop(kube, node, {
    ca: await brokerCaPem(kube),
    servername: `iam-sidecar-broker.${RELEASE_NS}.svc`,
    tokenFile: sidecarVolumeFile(node, o.runningApp.metadata.uid, 'token'),
  })

  // Admissions: a pod that asks, created with --dry-run=server (the webhooks run, nothing is kept).
  const asking = join(node.workDir, 'rollout-asking-pod.json')
  writeFileSync(
    asking,
    JSON.stringify(
      appPod(node, o.tenant, { name: 'rollout-dry', role: o.role('dry'), initContainer: false }),
    ),
  )
  let admitting = true
  let admissions = 0
  const failedAdmissions: string[] = []
  const admitLoop = async (): Promise<void> => {
    while (admitting) {
      admissions++
      try {
        const out = await kube.kubectl(['create', '--dry-run=server', '-o', 'json', '-f', asking])
        const pod = JSON.parse(out) as Pod
        if (!pod.spec.initContainers?.some((c) => c.name === 'iam-sidecar'))
          failedAdmissions.push(`${new Date().toISOString()} admitted without the sidecar`)
      } catch (err) {
        failedAdmissions.push(`${new Date().toISOString()} ${(err as Error).message.slice(0, 300)}`)
      }
    }
  }
  const admitters = [admitLoop(), admitLoop()]
  await new Promise((r) => setTimeout(r, 2000))

  const t0 = Date.now()
  await kube.kubectl([
    'rollout',
    'restart',
    '-n',
    RELEASE_NS,
    'deployment/iam-sidecar-injector',
    'deployment/iam-sidecar-broker',
  ])
  // Pods that start while both roll: their sidecars fetch from the broker cold.
  const cold = Array.from({ length: o.coldPods ?? 3 }, (_, i) => `rollout-cold-${i}`)
  for (const name of cold) {
    await kube.apply([appPod(node, o.tenant, { name, role: o.role('cold'), initContainer: true })])
    await new Promise((r) => setTimeout(r, 3000))
  }
  for (const c of COMPONENTS) {
    await kube.kubectl([
      'rollout',
      'status',
      '-n',
      RELEASE_NS,
      `deployment/iam-sidecar-${c}`,
      '--timeout=300s',
    ])
  }
  await until('old injector and broker pods gone', () => settled(kube), 120_000)
  const rolloutMs = Date.now() - t0
  await new Promise((r) => setTimeout(r, 2000))
  admitting = false
  await Promise.all(admitters)
  const fetched = await fetches.stop()

  const sdkErrors: string[] = []
  for (const name of cold) {
    const pod = await until(
      `${name} Ready`,
      async () => {
        const p = await kube.json<Pod>(['get', 'pod', '-n', o.tenant, name])
        return p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
          ? p
          : undefined
      },
      240_000,
    )
    for (const s of [
      ...(pod.status.initContainerStatuses ?? []),
      ...(pod.status.containerStatuses ?? []),
    ]) {
      if (s.name !== 'iam-sidecar' && s.restartCount > 0)
        sdkErrors.push(`${name}/${s.name} restarted ${s.restartCount}x`)
    }
    for (const container of ['sts-init', 'app'])
      sdkErrors.push(...(await failedCalls(kube, { ns: o.tenant, pod: name, container, since })))
  }
  sdkErrors.push(
    ...(await failedCalls(kube, {
      ns: o.tenant,
      pod: o.runningApp.metadata.name,
      container: 'app',
      since,
    })),
  )
  await kube.kubectl(['delete', 'pod', '-n', o.tenant, ...cold, '--wait=false'])
  return {
    rolloutMs,
    admissions,
    failedAdmissions,
    fetches: fetched.total,
    failedFetches: fetched.failed,
    failedFetchCount: fetched.failedCount,
    sdkErrors,
    coldPods: cold.length,
  }
}
