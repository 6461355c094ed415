// The injected sidecar's settings: the injector's flags give the defaults, and a pod may override
// each one by annotation, as Vault's injector lets a pod tune its agent. A value is checked by the
// same parser either way (the sidecar's own flag where there is one), so an annotation can never
// write an argument the sidecar would refuse at start. Pure.
//
// Every setting here is safe to leave to the pod's author: each changes only that pod's own
// sidecar, and none weakens what protects its token (it stays mounted in the sidecar alone, the
// secret still gates 127.0.0.1, runAsNonRoot stays and UID 0 is refused). What could (image,
// broker URL, CA, token audience and lifetime, native or not) is the injector's alone.
import {
  LOG_LEVEL,
  REFRESH_WINDOW,
  UPSTREAM_TIMEOUT,
  SIDECAR_PORT,
  HEALTH_PORT,
  RUN_AS_USER,
  CPU_REQUEST,
  CPU_LIMIT,
  MEMORY_REQUEST,
  MEMORY_LIMIT,
} from '../lib/annotations.ts'
import { intFlag, stringFlag, type Flag, type FlagValues } from '../lib/flags.ts'
import { POD_LAYOUT } from '../lib/sidecar-pod-layout.ts'
import { SIDECAR_FLAGS } from '../sidecar/config.ts'

const E = 'IAM_SIDECAR_INJECTOR_'
const QUANTITY = /^\d+(\.\d+)?(m|Ki|Mi|Gi|k|M|G)?$/
/** Longer annotation values are refused before parsing, so no message can quote a flood. */
const MAX_VALUE_LENGTH = 64

/** The injector's env var for its flag `name`: `sidecar-port` → IAM_SIDECAR_INJECTOR_SIDECAR_PORT. */
function envOf(name: string): string {
  return `${E}${name.toUpperCase().replace(/-/g, '_')}`
}

/** The sidecar's flag under the injector's name for it: `--sidecar-<name>`. */
function forSidecar<T>(f: Flag<T>, o: { default?: string; description?: string } = {}): Flag<T> {
  return {
    ...f,
    name: `sidecar-${f.name}`,
    env: envOf(`sidecar-${f.name}`),
    default: o.default ?? f.default,
    description: o.description ?? `The sidecar's --${f.name}: ${f.description}`,
  }
}

function quantityFlag(name: string, description: string, dflt?: string): Flag<string> {
  return stringFlag({
    name,
    env: envOf(name),
    pattern: QUANTITY,
    description,
    ...(dflt === undefined ? { optional: true } : { default: dflt }),
  })
}

/**
 * runAsUser of the sidecar: a UID, or `none` to leave it to the platform (OpenShift's
 * restricted-v2 assigns UIDs and refuses a fixed one). runAsNonRoot stays either way; the image's
 * numeric USER (65532) lets the kubelet check it.
 */
const runAsUserFlag: Flag<number | undefined> = {
  name: 'sidecar-run-as-user',
  env: envOf('sidecar-run-as-user'),
  default: '65532',
  type: 'integer|none',
  description:
    "runAsUser (and runAsGroup) of the sidecar; `none` leaves both unset for platforms that assign UIDs (OpenShift's restricted-v2).",
  parse(raw) {
    if (raw === 'none') return undefined
    if (!/^\d{1,10}$/.test(raw) || Number(raw) < 1 || Number(raw) > 2_147_483_647)
      throw new Error(`must be a UID from 1 to 2147483647, or none (got ${JSON.stringify(raw)})`)
    return Number(raw)
  },
}

export const SIDECAR_SETTING_FLAGS = {
  sidecarLogLevel: forSidecar(SIDECAR_FLAGS.logLevel),
  sidecarRefreshWindow: forSidecar(SIDECAR_FLAGS.refreshWindow),
  sidecarUpstreamTimeout: forSidecar(SIDECAR_FLAGS.upstreamTimeout),
  sidecarPort: forSidecar(SIDECAR_FLAGS.port, {
    default: String(POD_LAYOUT.port),
    description:
      "Port of the sidecar's credentials endpoint on 127.0.0.1 (it goes into AWS_CONTAINER_CREDENTIALS_FULL_URI). A pod that declares it as a containerPort is refused.",
  }),
  sidecarHealthPort: forSidecar(
    intFlag({
      name: 'health-port',
      env: 'IAM_SIDECAR_HEALTH_PORT',
      default: String(POD_LAYOUT.healthPort),
      min: 1,
      max: 65535,
      description: SIDECAR_FLAGS.healthPort.description,
    }),
    {
      description:
        "Port of the sidecar's probe listener (the kubelet's startup and liveness probes). A pod that declares it as a containerPort is refused.",
    },
  ),
  sidecarRunAsUser: runAsUserFlag,
  cpuRequest: quantityFlag('sidecar-cpu-request', 'CPU request of the sidecar.', '10m'),
  memoryRequest: quantityFlag('sidecar-memory-request', 'Memory request of the sidecar.', '64Mi'),
  memoryLimit: quantityFlag('sidecar-memory-limit', 'Memory limit of the sidecar.', '128Mi'),
  cpuLimit: quantityFlag(
    'sidecar-cpu-limit',
    'CPU limit of the sidecar (default: none, to avoid throttling a latency-sensitive endpoint).',
  ),
} as const

export type SidecarSettings = FlagValues<typeof SIDECAR_SETTING_FLAGS>

/** The pod annotation that overrides each setting. */
export const SETTING_ANNOTATIONS: { readonly [K in keyof SidecarSettings]: string } = {
  sidecarLogLevel: LOG_LEVEL,
  sidecarRefreshWindow: REFRESH_WINDOW,
  sidecarUpstreamTimeout: UPSTREAM_TIMEOUT,
  sidecarPort: SIDECAR_PORT,
  sidecarHealthPort: HEALTH_PORT,
  sidecarRunAsUser: RUN_AS_USER,
  cpuRequest: CPU_REQUEST,
  memoryRequest: MEMORY_REQUEST,
  memoryLimit: MEMORY_LIMIT,
  cpuLimit: CPU_LIMIT,
}

export type SettingsResult =
  | {
      readonly ok: true
      readonly settings: SidecarSettings
      readonly overridden: readonly string[]
    }
  | { readonly ok: false; readonly message: string }

/** The injector's defaults with the pod's annotations applied; the first bad one is refused. */
export function podSettings(
  defaults: SidecarSettings,
  annotations: Readonly<Record<string, string>> | undefined,
): SettingsResult {
  const out: Record<string, unknown> = { ...defaults }
  const overridden: string[] = []
  for (const [key, annotation] of Object.entries(SETTING_ANNOTATIONS)) {
    const raw = annotations?.[annotation]
    if (raw === undefined) continue
    const flag = (SIDECAR_SETTING_FLAGS as Record<string, Flag<unknown>>)[key]!
    const value = raw.trim()
    if (value.length > MAX_VALUE_LENGTH)
      return {
        ok: false,
        message: `annotation ${annotation} is longer than ${MAX_VALUE_LENGTH} characters`,
      }
    try {
      out[key] = flag.parse(value)
    } catch (err) {
      return { ok: false, message: `annotation ${annotation}: ${(err as Error).message}` }
    }
    overridden.push(annotation)
  }
  const settings = Object.freeze(out) as SidecarSettings
  if (settings.sidecarPort === settings.sidecarHealthPort)
    return {
      ok: false,
      message: `the sidecar's port and health port are both ${settings.sidecarPort}; set ${SIDECAR_PORT} or ${HEALTH_PORT} to another port`,
    }
  return { ok: true, settings, overridden }
}
