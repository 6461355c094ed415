// The sidecar's configuration: parsed once at start-up from flags (and IAM_SIDECAR_* variables),
// frozen, passed down. The only sidecar file that reads the environment.
import {
  ConfigError,
  durationFlag,
  intFlag,
  parseFlags,
  stringFlag,
  urlFlag,
  type FlagValues,
} from '../lib/flags.ts'
import { logLevelFlag, refreshWindowFlag } from '../lib/common-flags.ts'

export const SIDECAR_FLAGS = {
  port: intFlag({
    name: 'port',
    env: 'IAM_SIDECAR_PORT',
    default: '9911',
    min: 1,
    max: 65535,
    description: 'Port of the credentials endpoint on 127.0.0.1.',
  }),
  bindAddress: stringFlag({
    name: 'bind-address',
    env: 'IAM_SIDECAR_BIND_ADDRESS',
    default: '127.0.0.1',
    description:
      'Listen address. Only 127.0.0.1 is accepted: the endpoint must never leave the pod.',
  }),
  secretDir: stringFlag({
    name: 'secret-dir',
    env: 'IAM_SIDECAR_SECRET_DIR',
    default: '/var/run/iam-sidecar/secret',
    description:
      'Folder (a memory emptyDir) where the per-pod secret is written as the file `token`.',
  }),
  tokenFile: stringFlag({
    name: 'token-file',
    env: 'IAM_SIDECAR_TOKEN_FILE',
    default: '/var/run/secrets/iam-sidecar/serviceaccount/token',
    description:
      'Projected ServiceAccount token sent to the broker; re-read on every call because the kubelet rotates it.',
  }),
  brokerUrl: urlFlag({
    name: 'broker-url',
    env: 'IAM_SIDECAR_BROKER_URL',
    protocols: ['https:'],
    description:
      'Base HTTPS URL of the broker, e.g. https://iam-sidecar-broker.iam-sidecar.svc:8443.',
  }),
  brokerCaFile: stringFlag({
    name: 'broker-ca-file',
    env: 'IAM_SIDECAR_BROKER_CA_FILE',
    optional: true,
    description: 'PEM bundle that signs the broker certificate (default: the system trust store).',
  }),
  refreshWindow: refreshWindowFlag({
    name: 'refresh-window',
    env: 'IAM_SIDECAR_REFRESH_WINDOW',
    description:
      'Refresh credentials once their remaining lifetime falls under this, or at half the lifetime they were handed with if that comes later (short sessions); must be more than 15m.',
  }),
  upstreamTimeout: durationFlag({
    name: 'upstream-timeout',
    env: 'IAM_SIDECAR_UPSTREAM_TIMEOUT',
    default: '10s',
    minMs: 100,
    maxMs: 120_000,
    description: 'Time limit for one call to the broker.',
  }),
  coldWait: durationFlag({
    name: 'cold-wait',
    env: 'IAM_SIDECAR_COLD_WAIT',
    default: '500ms',
    maxMs: 900,
    description:
      'While no credentials exist yet, how long a request may wait for an in-flight fetch before 503 (under the JS SDK 1 s timeout).',
  }),
  healthPort: intFlag({
    name: 'health-port',
    env: 'IAM_SIDECAR_HEALTH_PORT',
    default: '0',
    min: 0,
    max: 65535,
    description:
      'Port of a probe-only listener on all addresses (/healthz, /readyz; no credentials) for the kubelet, which cannot reach 127.0.0.1 in the pod. 0: none.',
  }),
  logLevel: logLevelFlag('IAM_SIDECAR_'),
} as const

export type SidecarConfig = FlagValues<typeof SIDECAR_FLAGS>

export function loadSidecarConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): SidecarConfig {
  const cfg = parseFlags(SIDECAR_FLAGS, argv, env)
  if (cfg.bindAddress !== '127.0.0.1') {
    throw new ConfigError(
      `--bind-address: only 127.0.0.1 is allowed (got ${JSON.stringify(cfg.bindAddress)}); the credentials endpoint must not be reachable from outside the pod`,
    )
  }
  return cfg
}
