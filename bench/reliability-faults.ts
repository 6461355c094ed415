// Long fault variants, too slow for `npm test` (test/reliability/faults.test.ts has the short
// ones): the broker cut off from the API server (toxiproxy proxy disabled) for two minutes while
// a pod it already authorised runs a real SDK client (js-v3, a call every 500 ms) through its
// sidecar and a new pod asks for credentials; and STS throttling every AssumeRole for a minute
// against a healthy minute, 20 pods asking like sidecars with short sessions.
// Writes bench/results/reliability-faults.json; bench/reliability.ts merges it into reliability.json.
import { buildSidecar } from '../scripts/build-sidecar.ts'
import { makeTestCluster } from '../test/peers/cluster.ts'
import { startControlPlane } from '../test/peers/control-plane.ts'
import { sdkClients } from '../test/sdk-clients/clients.ts'
import { sdkEnv } from '../test/support/run-client.ts'
import { startSidecar } from '../test/support/sidecar-process.ts'
import {
  apiserverOutageScenario,
  startLoopClient,
  startToxiproxy,
  stsThrottleScenario,
} from '../test/support/toxiproxy.ts'
import { writeResults } from './results.ts'

const OUTAGE_MS = Number(process.env.FAULTS_OUTAGE_SECONDS ?? 120) * 1000
const THROTTLE_WINDOW_MS = Number(process.env.FAULTS_THROTTLE_SECONDS ?? 60) * 1000

async function main(): Promise<void> {
  await buildSidecar()
  const plane = await startControlPlane({ controllerManager: false })
  const toxi = await startToxiproxy()
  try {
    const { cluster } = makeTestCluster(plane)
    const jsV3 = sdkClients.find((c) => c.id === 'js-v3')!
    let sdkErrors = 0
    let sdkCalls = 0

    console.log(`# API server unreachable for ${OUTAGE_MS / 1000} s`)
    const outage = await apiserverOutageScenario(cluster, toxi, {
      outageMs: OUTAGE_MS,
      pollMs: 1_000,
      // The authorised pod's sidecar and SDK client run through the whole outage.
      async onBroker(broker, token) {
        const sidecar = await startSidecar({ brokerUrl: broker.url, caFile: broker.caFile, token })
        const client = startLoopClient(
          jsV3,
          sdkEnv({
            credentialsUrl: `${sidecar.url}/v1/credentials`,
            tokenFile: sidecar.secretFile,
            stsEndpoint: cluster.info.stsEndpoint,
            home: '/nonexistent',
          }),
          500,
        )
        return async () => {
          sdkCalls += client.successes()
          await client.stop()
          sdkErrors += client.errors()
          await sidecar.stop()
        }
      },
    })
    console.log(JSON.stringify({ outage, sdkCalls, sdkErrors }))

    console.log(`# STS throttling: ${THROTTLE_WINDOW_MS / 1000} s healthy, then as long throttled`)
    const throttle = await stsThrottleScenario(cluster, {
      pods: 20,
      windowMs: THROTTLE_WINDOW_MS,
      intervalMs: 3_000,
    })
    console.log(JSON.stringify(throttle))

    const results = {
      // SDK errors of the running pod plus broker refusals of its token during the outage.
      sdk_errors_during_faults: sdkErrors + outage.knownPodErrors,
      sts_calls_per_min_healthy: throttle.stsCallsPerMinHealthy,
      sts_calls_per_min_throttled: throttle.stsCallsPerMinThrottled,
      // The slower of: new pod served after the API server link is back; every pod served
      // again after throttling stops.
      recovery_seconds:
        Math.round(Math.max(outage.recoverySeconds, throttle.recoverySeconds) * 100) / 100,
    }
    writeResults('reliability-faults.json', results)
  } finally {
    await toxi.stop()
    await plane.stop()
  }
}

await main()
