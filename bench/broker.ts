// npm run bench:broker: the broker process on the real control plane and moto.
// - warm: one pod's token, session and review cached; wrk at c=32 over HTTPS.
// - storm: 2,000 pods with real pod-bound tokens ask at once while STS (moto behind a shim)
//   takes 50 ms more per AssumeRole; every pod must be served (503s are retried like a sidecar
//   does), and STS calls must equal sessions (no duplicate AssumeRole for a pod).
// - STS calls per session-hour on a compressed clock (bench/compressed-clock.ts), with one
//   broker and with two replicas behind the Service (each its own cache), in both scopes.
// Writes bench/results/broker.json.
import { readFileSync } from 'node:fs'
import { Agent } from 'node:https'
import { fetchCreds, inBatches, storm } from './broker-load.ts'
import { startControlPlane } from '../test/peers/control-plane.ts'
import { makeTestCluster } from '../test/peers/cluster.ts'
import { startBrokerProcess } from '../test/support/broker-process.ts'
import { createPod, createServiceAccount, podToken } from '../test/support/pods.ts'
import { StsThrottleShim } from '../test/support/sts-throttle-shim.ts'
import { stsCallsPerSessionHour } from './compressed-clock.ts'
import { ensureDebianTools } from './tools.ts'
import { wrk } from './wrk.ts'
import { machine, writeResults } from './results.ts'

const STORM_PODS = Number(process.env.BENCH_STORM_PODS ?? 2000)
const WARM_SECONDS = Number(process.env.BENCH_SECONDS ?? 10)

async function main(): Promise<void> {
  ensureDebianTools({ wrk: 'wrk' })
  console.log('# starting the control plane')
  const plane = await startControlPlane({ controllerManager: false })
  const shim = await StsThrottleShim.start({ upstream: plane.stsEndpoint })
  try {
    const { cluster } = makeTestCluster(plane)
    const broker = await startBrokerProcess(cluster, [
      `--sts-endpoint=${shim.url}`,
      '--sts-rate=200',
      '--sts-burst=200',
      '--log-level=warn',
    ])
    const pid = broker.child.pid!
    const ca = readFileSync(broker.caFile)
    try {
      const ns = await cluster.freshNamespace('bench', {}, { 'iam-sidecar/permitted': '.*' })
      await createServiceAccount(cluster, ns, 'app', { 'iam-sidecar/role': 'bench' })

      console.log('# warm: one pod, c=32')
      const warmPod = await createPod(cluster, { namespace: ns, name: 'warm' })
      const warmToken = await podToken(cluster, warmPod)
      await fetchCreds(broker.url, ca, new Agent(), warmToken)
      const warm = wrk(`${broker.url}/v1/credentials`, {
        connections: 32,
        threads: 2,
        seconds: WARM_SECONDS,
        headers: { Authorization: `Bearer ${warmToken}` },
      })
      if (warm.non2xx + warm.errors > 0)
        throw new Error(`warm run had ${warm.non2xx} non-2xx and ${warm.errors} socket errors`)

      console.log(`# storm: creating ${STORM_PODS} pods and their pod-bound tokens`)
      const names = Array.from({ length: STORM_PODS }, (_, i) => `storm-${i}`)
      const pods = await inBatches(names, 25, (name) => createPod(cluster, { namespace: ns, name }))
      const tokens = await inBatches(pods, 25, (pod) => podToken(cluster, pod))
      shim.latencyMs = 50
      console.log(`# storm: ${STORM_PODS} pods ask at once (STS +50 ms)`)
      const st = await storm({ url: broker.url, caFile: broker.caFile, pid }, tokens, shim)
      const stormCalls = st.stsCalls
      const sessions = st.sessions

      console.log('# STS calls per session-hour on a compressed clock (50 pods, 6 hours)')
      const sim = await stsCallsPerSessionHour({ pods: 50, hours: 6 })
      console.log('# the same with two broker replicas behind the Service, both scopes')
      const two = await stsCallsPerSessionHour({ pods: 50, hours: 6, replicas: 2 })
      const twoShared = await stsCallsPerSessionHour({
        pods: 50,
        hours: 6,
        replicas: 2,
        scope: 'shared',
      })
      const results = {
        warm_rps_c32: Math.round(warm.rps),
        warm_p99_ms_c32: warm.p99Ms,
        storm_pods: STORM_PODS,
        storm_seconds: Math.round(st.seconds * 100) / 100,
        storm_sts_calls: stormCalls,
        storm_sessions: sessions,
        storm_peak_rss_mb: st.peakRssMb,
        sts_calls_per_session_hour: Math.round(sim.perSessionHour * 1000) / 1000,
        sts_calls_per_session_hour_2_replicas: Math.round(two.perSessionHour * 1000) / 1000,
        // Shared scope: all 50 pods share one ServiceAccount and role, so one session key; each
        // replica keeps its own session for it.
        sts_calls_per_shared_key_hour_2_replicas: Math.round((twoShared.calls / 6) * 1000) / 1000,
        node_version: process.version,
        machine: machine(),
      }
      if (stormCalls !== sessions)
        console.warn(`# WARNING: ${stormCalls} STS calls for ${sessions} sessions`)
      writeResults('broker.json', results)
    } finally {
      await broker.stop()
    }
  } finally {
    await shim.close()
    await plane.stop()
  }
}

await main()
