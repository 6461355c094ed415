// The broker's own AWS identity broken for half an hour (STS answering InvalidClientTokenId to
// every AssumeRole and GetCallerIdentity) while 200 pods hold 60-minute sessions and refresh
// them on the sidecar's 30-minute window: how many pods stopped serving credentials that were
// still valid? On a compressed clock (bench/compressed-clock.ts): the real sidecar cache, the
// real broker flow (issue-credentials, identity health, session cache, retries) and the real
// STS error classification; STS itself is a fake that answers on the simulated clock.
// Writes bench/results/reliability-identity.json; bench/reliability.ts merges it.
import { podsDroppedDuringIdentityFault } from './compressed-clock.ts'
import { writeResults } from './results.ts'

const PODS = 200
const r = await podsDroppedDuringIdentityFault({
  pods: PODS,
  faultFrom: 20,
  faultMinutes: 30,
  hours: 2,
})
console.log(JSON.stringify({ pods: PODS, ...r }))
writeResults('reliability-identity.json', {
  broker_identity_fault_pods: PODS,
  broker_identity_fault_minutes: 30,
  broker_identity_fault_refreshes_failed: r.refreshesFailed,
  broker_identity_fault_pods_dropped: r.dropped,
})
