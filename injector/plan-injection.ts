// Admission, as a pure function: the pod being created, its namespace and ServiceAccount, and the
// configuration → skip (with the reason), deny (with what to do), or a plan to inject (with
// warnings). No I/O; patch.ts turns a plan into JSON Patch operations.
import type { V1Container, V1Namespace, V1Pod, V1ServiceAccount } from '@kubernetes/client-node'
import {
  HEALTH_PORT,
  INJECT,
  ROLE,
  RUN_AS_USER,
  SIDECAR_PORT,
  SKIP_CONTAINERS,
} from '../lib/annotations.ts'
import {
  checkPolicy,
  policyOptionsOf,
  type PolicyOptions,
  type PolicyVerdict,
} from '../lib/policy.ts'
import { quote, resolveRole, roleAnnotation } from '../lib/role.ts'
import { hasSidecarContainer, podContainers, unsafePodShape } from '../lib/pod-shape.ts'
import { envEdit, type EnvEdit } from './app-env.ts'
import type { InjectorConfig } from './config.ts'
import { meshOf } from './mesh.ts'
import { podSettings, type SidecarSettings } from './sidecar-settings.ts'
import { sidecarSpec, type SidecarSpec, type SpecConfig } from './sidecar-spec.ts'

export interface InjectionConfig {
  /** The cluster-wide sidecar configuration and the default per-pod settings. */
  readonly sidecar: SpecConfig
  readonly policy: PolicyOptions
  readonly baseRoleArn: string | undefined
}

export interface Plan {
  readonly spec: SidecarSpec
  /** Role ARN as the broker will use it (or the short name, when no base ARN is configured). */
  readonly role: string
  readonly roleSource: string
  /** Names of the app containers and init containers that get the env vars and the mount. */
  readonly containers: readonly string[]
  readonly initContainers: readonly string[]
  /** What each of those containers' env gets, by container name. */
  readonly env: ReadonlyMap<string, EnvEdit>
}

export type InjectionDecision =
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'deny'; readonly message: string }
  | { readonly kind: 'inject'; readonly plan: Plan; readonly warnings: readonly string[] }

/** The admission configuration from the injector's: its sidecar settings are the defaults. */
export function injectionConfigOf(cfg: InjectorConfig): InjectionConfig {
  return Object.freeze({
    sidecar: cfg,
    policy: policyOptionsOf(cfg),
    baseRoleArn: cfg.baseRoleArn,
  })
}

/** Env vars that come before the container provider in some SDK's chain, or replace it. */
const SHADOWING_ENV = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
]

export function planInjection(
  pod: V1Pod,
  namespace: V1Namespace | undefined,
  sa: V1ServiceAccount | undefined,
  cfg: InjectionConfig,
): InjectionDecision {
  const skip = skipReason(pod)
  if (skip) return { kind: 'skip', reason: skip }
  if (hasSidecarContainer(pod)) return checkInjected(pod, namespace, sa, cfg)
  const sidecar = sidecarFor(pod, namespace, cfg)
  if ('deny' in sidecar) return { kind: 'deny', message: sidecar.deny }
  const { spec } = sidecar
  const refusal = checkPodShape(pod, spec)
  if (refusal) return { kind: 'deny', message: refusal }
  const role = roleAnnotation(pod, sa)
  if (!role) {
    const saName = sa?.metadata?.name ?? pod.spec?.serviceAccountName ?? 'default'
    return {
      kind: 'deny',
      message: `${INJECT} is set but no role is named: set the ${ROLE} annotation on the pod or on its ServiceAccount ${saName}`,
    }
  }
  const checked = checkRole(role, namespace, cfg)
  if (checked.deny) return { kind: 'deny', message: checked.deny }
  const { containers, initContainers, env, warnings } = targets(pod, spec)
  return {
    kind: 'inject',
    plan: { spec, role: checked.role, roleSource: role.source, containers, initContainers, env },
    warnings: [...sidecar.warnings, ...checked.warnings, ...warnings],
  }
}

/** This pod's sidecar: the injector's settings with the pod's overrides, and a mesh's UID. */
function sidecarFor(
  pod: V1Pod,
  namespace: V1Namespace | undefined,
  cfg: InjectionConfig,
): { spec: SidecarSpec; warnings: string[] } | { deny: string } {
  const annotations = pod.metadata?.annotations
  const r = podSettings(cfg.sidecar, annotations)
  if (!r.ok) return { deny: r.message }
  let settings: SidecarSettings = r.settings
  const warnings: string[] = []
  const mesh = cfg.sidecar.meshUidBypass ? meshOf(pod, namespace) : undefined
  if (mesh && annotations?.[RUN_AS_USER] === undefined) {
    settings = { ...settings, sidecarRunAsUser: mesh.proxyUid }
    warnings.push(
      `${mesh.name} will mesh this pod: the sidecar runs as UID ${mesh.proxyUid}, whose traffic ${mesh.name}'s iptables rules do not redirect, so it reaches the broker before the mesh proxy runs`,
    )
  }
  return { spec: sidecarSpec(cfg.sidecar, settings), warnings }
}

/**
 * Why a pod is left alone: it does not ask. The iam-sidecar/injected label is not a reason: anyone
 * may set it, so a pod that arrives with it and no sidecar is injected like any other.
 */
function skipReason(pod: V1Pod): string | undefined {
  const inject = pod.metadata?.annotations?.[INJECT]
  if (inject === undefined) return `no ${INJECT} annotation`
  if (inject !== 'true') return `${INJECT} is ${quote(inject)}, not "true"`
  return undefined
}

/**
 * A pod that already holds a container by our name: a second pass (reinvocation) changes
 * nothing, but a pod written that way by hand gets the checks that do not depend on what we add,
 * so its shape and role are held to the same rules as an injected pod's.
 */
function checkInjected(
  pod: V1Pod,
  namespace: V1Namespace | undefined,
  sa: V1ServiceAccount | undefined,
  cfg: InjectionConfig,
): InjectionDecision {
  const unsafe = unsafePodShape(pod)
  if (unsafe) return { kind: 'deny', message: unsafe }
  const role = roleAnnotation(pod, sa)
  if (role) {
    const checked = checkRole(role, namespace, cfg)
    if (checked.deny) return { kind: 'deny', message: checked.deny }
  }
  return { kind: 'skip', reason: 'already injected' }
}

/** Which containers get the env vars and what each gets, and warnings about their own settings. */
function targets(
  pod: V1Pod,
  spec: SidecarSpec,
): {
  containers: string[]
  initContainers: string[]
  env: Map<string, EnvEdit>
  warnings: string[]
} {
  const skip = skipList(pod.metadata?.annotations?.[SKIP_CONTAINERS])
  const names = (list: V1Container[] | undefined): string[] =>
    (list ?? []).map((c) => c.name).filter((n) => !skip.has(n))
  const containers = names(pod.spec?.containers)
  // Without native sidecars, init containers run before the sidecar exists: they get nothing.
  const initContainers = spec.native ? names(pod.spec?.initContainers) : []
  const injected = new Set([...containers, ...initContainers])
  const warnings = shadowWarnings(pod, injected)
  const env = new Map<string, EnvEdit>()
  for (const c of podContainers(pod)) {
    if (!injected.has(c.name)) continue
    const edit = envEdit(c, spec)
    env.set(c.name, edit)
    warnings.push(...edit.warnings)
  }
  const unknown = [...skip].filter((n) => !podContainers(pod).some((c) => c.name === n))
  if (unknown.length > 0) {
    warnings.push(
      `${SKIP_CONTAINERS} names ${unknown.map((n) => quote(n, 63)).join(', ')}, which the pod does not have`,
    )
  }
  return { containers, initContainers, env, warnings }
}

/** Pod settings that would break the promise: say why and what to do. */
function checkPodShape(pod: V1Pod, spec: SidecarSpec): string | undefined {
  return unsafePodShape(pod) ?? reservedNames(pod, spec) ?? portClash(pod, spec)
}

/** Containers of a pod share its network: a declared port equal to one of ours cannot both bind. */
function portClash(pod: V1Pod, spec: SidecarSpec): string | undefined {
  const ours: [number, string, string][] = [
    [spec.settings.sidecarPort, 'credentials endpoint', SIDECAR_PORT],
    [spec.settings.sidecarHealthPort, 'health listener', HEALTH_PORT],
  ]
  for (const c of podContainers(pod)) {
    for (const p of c.ports ?? []) {
      if (p.protocol !== undefined && p.protocol !== 'TCP') continue
      const clash = ours.find(([port]) => port === p.containerPort)
      if (clash)
        return `container ${quote(c.name, 63)} declares port ${p.containerPort}, which the iam-sidecar ${clash[1]} uses; set the pod annotation ${clash[2]} to a free port`
    }
  }
  return undefined
}

/** Our volume names and mount paths must be ours: a pod's own volume there would be used instead. */
function reservedNames(pod: V1Pod, spec: SidecarSpec): string | undefined {
  const names = new Set(spec.volumes.map((v) => v.name))
  const clash = (pod.spec?.volumes ?? []).find((v) => names.has(v.name))
  if (clash) return `volume name ${clash.name} is reserved for iam-sidecar; rename the pod's volume`
  const paths = new Set((spec.container.volumeMounts ?? []).map((m) => m.mountPath))
  for (const c of podContainers(pod)) {
    const m = (c.volumeMounts ?? []).find((vm) => paths.has(vm.mountPath))
    if (m)
      return `container ${c.name} mounts ${m.name} at ${m.mountPath}, which is reserved for iam-sidecar; mount it elsewhere`
  }
  return undefined
}

function checkRole(
  role: { value: string; source: string },
  namespace: V1Namespace | undefined,
  cfg: InjectionConfig,
): { role: string; deny?: string; warnings: string[] } {
  const value = role.value.trim()
  if (!value.startsWith('arn:') && cfg.baseRoleArn === undefined)
    return checkShortName(value, role.source, namespace, cfg)
  const r = resolveRole(value, cfg.baseRoleArn)
  if (!r.ok) return { role: value, deny: `${role.source}: ${r.reason}`, warnings: [] }
  const verdict = namespacePolicy(namespace, { arn: r.role.arn, asWritten: value }, cfg)
  if (verdict.permitted) return { role: r.role.arn, warnings: [] }
  // Some allowed-roles entries are short names and the injector has no base ARN: the broker knows.
  if (verdict.provisional)
    return {
      role: r.role.arn,
      warnings: [
        `${verdict.reason}; entries that are short names are checked by the broker, since the injector has no --base-role-arn`,
      ],
    }
  return { role: r.role.arn, deny: verdict.reason, warnings: [] }
}

function skipList(value: string | undefined): Set<string> {
  return new Set(
    (value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
}

function shadowWarnings(pod: V1Pod, injected: Set<string>): string[] {
  const out: string[] = []
  for (const c of podContainers(pod)) {
    if (!injected.has(c.name)) continue
    const set = (c.env ?? []).map((e) => e.name).filter((n) => SHADOWING_ENV.includes(n))
    if (set.length > 0) {
      out.push(
        `container ${c.name} sets ${set.join(', ')}, which would shadow or replace the iam-sidecar credentials in the AWS SDK chain; remove ${set.length > 1 ? 'them' : 'it'}`,
      )
    }
  }
  return out
}

/** Stands in for the unknown base ARN: only a refusal that does not depend on it is final. */
const PROBE_BASE = 'arn:aws:iam::000000000000:role/'

function namespacePolicy(
  namespace: V1Namespace | undefined,
  role: { arn: string; asWritten: string },
  cfg: InjectionConfig,
  baseRoleArn = cfg.baseRoleArn,
): PolicyVerdict {
  return checkPolicy(
    {
      namespace: namespace?.metadata?.name ?? '?',
      annotations: namespace?.metadata?.annotations,
      role,
      baseRoleArn,
    },
    cfg.policy,
  )
}

/** A short role name with no base ARN configured: the broker expands it; check what we can. */
function checkShortName(
  value: string,
  source: string,
  namespace: V1Namespace | undefined,
  cfg: InjectionConfig,
): { role: string; deny?: string; warnings: string[] } {
  const r = resolveRole(value, PROBE_BASE)
  if (!r.ok) return { role: value, deny: `${source}: ${r.reason}`, warnings: [] }
  // The ARN is unknown here, but a namespace that permits no role at all can be refused now.
  const probe = namespacePolicy(namespace, { arn: r.role.arn, asWritten: value }, cfg, PROBE_BASE)
  if (!probe.permitted && probe.code !== 'RoleNotPermitted')
    return { role: value, deny: probe.reason, warnings: [] }
  return {
    role: value,
    warnings: [
      `role ${quote(value)} is a short name and the injector has no --base-role-arn: the namespace policy is checked by the broker when the pod asks for credentials`,
    ],
  }
}
