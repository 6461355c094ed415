// `iam-sidecar explain`: what injection does to a pod, or why it is refused, which role applies
// and which policy decides it. Pure: objects in, lines of text out.
import type { V1Namespace, V1Pod, V1ServiceAccount } from '@kubernetes/client-node'
import { INJECTED_LABEL } from '../lib/annotations.ts'
import { hasSidecarContainer } from '../lib/pod-shape.ts'
import { resolveRole, roleAnnotation } from '../lib/role.ts'
import { FULL_URI_ENV } from '../lib/sidecar-pod-layout.ts'
import { planInjection, type InjectionConfig, type InjectionDecision } from './plan-injection.ts'
import { policyLines, verdictLines } from './explain-policy.ts'
import { buildPatch } from './patch.ts'
import { SETTING_ANNOTATIONS, type SidecarSettings } from './sidecar-settings.ts'

interface Subject {
  readonly pod: V1Pod
  readonly namespace: V1Namespace | undefined
  readonly sa: V1ServiceAccount | undefined
}

export function explain(
  pod: V1Pod,
  namespace: V1Namespace | undefined,
  sa: V1ServiceAccount | undefined,
  cfg: InjectionConfig,
): string[] {
  const s: Subject = { pod, namespace, sa }
  const head = `pod ${namespace?.metadata?.name ?? pod.metadata?.namespace ?? '?'}/${podName(pod)}`
  // Admitted already: what matters now is what the broker will decide for it.
  const body =
    pod.metadata?.labels?.[INJECTED_LABEL] === 'true' && hasSidecarContainer(pod)
      ? admittedLines(pod)
      : decisionLines(pod, planInjection(pod, namespace, sa, cfg), cfg)
  return [head, ...body, ...roleLines(s, cfg)]
}

function podName(pod: V1Pod): string {
  return pod.metadata?.name ?? pod.metadata?.generateName ?? '?'
}

function admittedLines(pod: V1Pod): string[] {
  const withCreds = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]
    .filter((c) => c.env?.some((e) => e.name === FULL_URI_ENV))
    .map((c) => c.name)
  return [
    '  injection: done (the pod carries the iam-sidecar/injected label)',
    `  credentials for: ${withCreds.join(', ') || '(no container)'}`,
  ]
}

function decisionLines(pod: V1Pod, d: InjectionDecision, cfg: InjectionConfig): string[] {
  if (d.kind === 'skip') return [`  injection: skipped (${d.reason})`]
  if (d.kind === 'deny') return [`  injection: DENIED: ${d.message}`]
  const lines = [
    `  injection: would inject (${buildPatch(pod, d.plan).length} JSON Patch operations)`,
    `  credentials for containers: ${d.plan.containers.join(', ') || '(none)'}`,
  ]
  if (d.plan.initContainers.length > 0)
    lines.push(`  credentials for init containers: ${d.plan.initContainers.join(', ')}`)
  const changed = changedSettings(d.plan.spec.settings, cfg.sidecar)
  if (changed.length > 0) lines.push(`  sidecar settings for this pod: ${changed.join(', ')}`)
  return [...lines, ...d.warnings.map((w) => `  warning: ${w}`)]
}

/** The pod's sidecar settings that differ from the injector's, as `annotation=value`. */
function changedSettings(pod: SidecarSettings, injector: SidecarSettings): string[] {
  return (Object.keys(SETTING_ANNOTATIONS) as (keyof SidecarSettings)[])
    .filter((k) => pod[k] !== injector[k])
    .map((k) => `${SETTING_ANNOTATIONS[k]}=${String(pod[k] ?? 'none')}`)
}

function roleLines({ pod, namespace, sa }: Subject, cfg: InjectionConfig): string[] {
  const role = roleAnnotation(pod, sa)
  if (!role) return ['  role: none named (set iam-sidecar/role on the pod or its ServiceAccount)']
  const r = resolveRole(role.value, cfg.baseRoleArn)
  const subject = {
    namespace: namespace?.metadata?.name ?? '?',
    annotations: namespace?.metadata?.annotations ?? {},
    baseRoleArn: cfg.baseRoleArn,
  }
  const lines = [
    r.ok
      ? `  role: ${r.role.arn} (from ${role.source})`
      : `  role: ${role.value.trim()} (from ${role.source}): ${r.reason}`,
    ...policyLines(subject, cfg.policy),
  ]
  if (!r.ok) return lines
  return [
    ...lines,
    ...verdictLines(subject, { arn: r.role.arn, asWritten: role.value.trim() }, cfg.policy),
  ]
}
