// What one app container's env needs, as a pure function of the container and the pod's sidecar:
// the two credential variables; a region, when the injector has one and the container sets none;
// and 127.0.0.1 in NO_PROXY when the container sends HTTP through a proxy (SDKs that honour
// HTTP_PROXY would otherwise send the credential request to the proxy). It never overrides a value
// the container sets: a region it sets is followed, a NO_PROXY it sets is extended.
import type { V1Container, V1EnvVar } from '@kubernetes/client-node'
import { quote } from '../lib/role.ts'
import type { SidecarSpec } from './sidecar-spec.ts'

export interface EnvEdit {
  /** Variables appended to the container's env (after its own, so `$(VAR)` can refer to them). */
  readonly add: readonly V1EnvVar[]
  /** New values for variables the container already has, by their index in its env. */
  readonly set: readonly { readonly index: number; readonly value: string }[]
  readonly warnings: readonly string[]
}

const REGION_VARS = ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const
const PROXY_VARS = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'all_proxy',
]
const NO_PROXY_VARS = ['NO_PROXY', 'no_proxy'] as const
const LOOPBACK = '127.0.0.1'
/** NO_PROXY entries that already keep 127.0.0.1 away from the proxy. */
const COVERS_LOOPBACK = new Set(['*', '127.0.0.1', '127.0.0.1/32', '127.0.0.0/8'])

export function envEdit(c: V1Container, spec: SidecarSpec): EnvEdit {
  const env = c.env ?? []
  const has = (name: string): boolean => env.some((e) => e.name === name)
  const add: V1EnvVar[] = spec.appEnv.filter((e) => !has(e.name))
  const set: { index: number; value: string }[] = []
  const warnings: string[] = []
  if (spec.region !== undefined) {
    const r = regionEnv(c, spec.region, has)
    add.push(...r.add)
    warnings.push(...r.warnings)
  }
  if (PROXY_VARS.some(has)) noProxyEnv(c, add, set, warnings)
  return { add, set, warnings }
}

/** Neither set: both get the region. One set: the other follows it, so every SDK agrees. */
function regionEnv(
  c: V1Container,
  region: string,
  has: (name: string) => boolean,
): { add: V1EnvVar[]; warnings: string[] } {
  const [r, d] = REGION_VARS
  if (has(r) && has(d)) return { add: [], warnings: [] }
  if (has(r)) return { add: [{ name: d, value: `$(${r})` }], warnings: [] }
  if (has(d)) return { add: [{ name: r, value: `$(${d})` }], warnings: [] }
  // env wins over envFrom, so writing a region here could override one the container takes from
  // a ConfigMap or Secret that admission cannot read.
  if (c.envFrom?.length) {
    const warning = `container ${quote(c.name, 63)} takes env from envFrom, which may set a region: iam-sidecar set no AWS_REGION; set it in env or envFrom`
    return { add: [], warnings: [warning] }
  }
  return {
    add: [
      { name: r, value: region },
      { name: d, value: region },
    ],
    warnings: [],
  }
}

function noProxyEnv(
  c: V1Container,
  add: V1EnvVar[],
  set: { index: number; value: string }[],
  warnings: string[],
): void {
  const env = c.env ?? []
  let found = false
  env.forEach((e, index) => {
    if (!(NO_PROXY_VARS as readonly string[]).includes(e.name)) return
    found = true
    if (e.valueFrom !== undefined) {
      warnings.push(
        `container ${quote(c.name, 63)} sets a proxy and takes ${e.name} from valueFrom: make sure it includes ${LOOPBACK}, or SDKs may send the credential request to the proxy`,
      )
      return
    }
    const value = e.value ?? ''
    const entries = value.split(',').map((s) => s.trim())
    if (entries.some((x) => COVERS_LOOPBACK.has(x))) return
    set.push({ index, value: value.trim() === '' ? LOOPBACK : `${value},${LOOPBACK}` })
  })
  if (found) return
  // With envFrom, a NO_PROXY may come from there: `$(NO_PROXY)` keeps it (the kubelet expands a
  // reference to an earlier value, envFrom's included; an undefined one stays as text, which
  // matches no host).
  const keep = (name: string): string => (c.envFrom?.length ? `$(${name}),${LOOPBACK}` : LOOPBACK)
  for (const name of NO_PROXY_VARS) add.push({ name, value: keep(name) })
}
