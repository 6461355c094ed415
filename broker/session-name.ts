// RoleSessionName for a pod: readable in CloudTrail (namespace and pod name), valid for STS
// (2–64 characters of [\w+=,.@-]) and unique per pod (a hash of the pod uid).
import { createHash } from 'node:crypto'

const MAX = 64
const HASH_LEN = 8

function clean(s: string): string {
  return s.replace(/[^\w+=,.@-]/g, '-')
}

export function sessionName(namespace: string, podName: string, podUid: string): string {
  const suffix = createHash('sha256').update(podUid).digest('hex').slice(0, HASH_LEN)
  const room = MAX - HASH_LEN - 2 // two separators
  let ns = clean(namespace)
  let pod = clean(podName)
  // Share the room fairly: the namespace gets at most half, the pod name the rest.
  if (ns.length + pod.length > room) {
    ns = ns.slice(0, Math.max(Math.floor(room / 2), room - pod.length))
    pod = pod.slice(0, room - ns.length)
  }
  return `${ns}.${pod}-${suffix}`
}

/** SourceIdentity (persists through role chaining): `<namespace>@<serviceaccount>`, ≤ 64 chars. */
export function sourceIdentity(namespace: string, serviceAccount: string): string {
  const s = clean(`${namespace}@${serviceAccount}`).slice(0, MAX)
  return s.startsWith('aws:') ? `k8s-${s}`.slice(0, MAX) : s
}
