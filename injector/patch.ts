// A plan → JSON Patch operations (RFC 6902), pure. Only `add`: never replace a whole container
// array (the IRSA webhook did, and dropped fields it did not know, such as restartPolicy of
// native sidecars). Creates missing arrays and maps, escapes JSON pointers, and adds nothing that
// is already there, so a second pass over the patched pod yields no operations.
import type { V1Container, V1Pod } from '@kubernetes/client-node'
import { INJECTED_LABEL } from '../lib/annotations.ts'
import type { EnvEdit } from './app-env.ts'
import type { Plan } from './plan-injection.ts'

export interface PatchOp {
  readonly op: 'add'
  readonly path: string
  readonly value: unknown
}

/** RFC 6901: `~` → `~0`, `/` → `~1` (label and annotation keys contain `/`). */
export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('')
}

export function buildPatch(pod: V1Pod, plan: Plan): PatchOp[] {
  const ops: PatchOp[] = []
  const spec = plan.spec
  if (pod.metadata?.labels?.[INJECTED_LABEL] !== 'true') {
    if (pod.metadata?.labels)
      ops.push({ op: 'add', path: pointer('metadata', 'labels', INJECTED_LABEL), value: 'true' })
    else
      ops.push({
        op: 'add',
        path: pointer('metadata', 'labels'),
        value: { [INJECTED_LABEL]: 'true' },
      })
  }
  const volumes = pod.spec?.volumes
  const missingVolumes = spec.volumes.filter((v) => !volumes?.some((have) => have.name === v.name))
  if (!volumes) {
    if (missingVolumes.length > 0)
      ops.push({ op: 'add', path: pointer('spec', 'volumes'), value: missingVolumes })
  } else {
    for (const v of missingVolumes)
      ops.push({ op: 'add', path: pointer('spec', 'volumes', '-'), value: v })
  }
  ops.push(...containerOps(pod.spec?.initContainers, 'initContainers', plan.initContainers, plan))
  ops.push(...containerOps(pod.spec?.containers, 'containers', plan.containers, plan))
  ops.push(...sidecarOps(pod, plan))
  return ops
}

/** The sidecar: first init container (native), or the last container (fallback). */
function sidecarOps(pod: V1Pod, plan: Plan): PatchOp[] {
  const name = plan.spec.container.name
  const exists = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].some(
    (c) => c.name === name,
  )
  if (exists) return []
  if (!plan.spec.native)
    return [{ op: 'add', path: pointer('spec', 'containers', '-'), value: plan.spec.container }]
  if (!pod.spec?.initContainers)
    return [{ op: 'add', path: pointer('spec', 'initContainers'), value: [plan.spec.container] }]
  // `add` at index 0 inserts before the existing init containers; nothing is rewritten.
  return [{ op: 'add', path: pointer('spec', 'initContainers', 0), value: plan.spec.container }]
}

/** One container's env edit, leaving out what a previous pass already did. */
function envOps(c: V1Container, at: string, edit: EnvEdit | undefined): PatchOp[] {
  const ops: PatchOp[] = []
  // `add` on an existing member replaces its value (RFC 6902 4.1): NO_PROXY gains 127.0.0.1.
  for (const s of edit?.set ?? []) {
    if (c.env?.[s.index]?.value !== s.value)
      ops.push({ op: 'add', path: `${at}${pointer('env', s.index, 'value')}`, value: s.value })
  }
  const env = (edit?.add ?? []).filter((e) => !c.env?.some((have) => have.name === e.name))
  if (!c.env) {
    if (env.length > 0) ops.push({ op: 'add', path: `${at}/env`, value: env })
  } else {
    for (const e of env) ops.push({ op: 'add', path: `${at}/env/-`, value: e })
  }
  return ops
}

/** Env vars and the read-only secret mount for the named containers of one array. */
function containerOps(
  list: readonly V1Container[] | undefined,
  field: 'containers' | 'initContainers',
  names: readonly string[],
  plan: Plan,
): PatchOp[] {
  const ops: PatchOp[] = []
  ;(list ?? []).forEach((c, i) => {
    if (!names.includes(c.name)) return
    ops.push(...envOps(c, pointer('spec', field, i), plan.env.get(c.name)))
    const mount = plan.spec.appMount
    const mounted = c.volumeMounts?.some(
      (m) => m.name === mount.name || m.mountPath === mount.mountPath,
    )
    if (mounted) return
    if (!c.volumeMounts)
      ops.push({ op: 'add', path: pointer('spec', field, i, 'volumeMounts'), value: [mount] })
    else ops.push({ op: 'add', path: pointer('spec', field, i, 'volumeMounts', '-'), value: mount })
  })
  return ops
}
