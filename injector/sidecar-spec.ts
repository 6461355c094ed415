// What the injector adds to one pod, from the configuration and the pod's sidecar settings: the
// sidecar container, the three volumes, and the env and mount every app container gets. Pure
// data; patch.ts places it.
import type {
  V1Container,
  V1EnvVar,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node'
import {
  credentialsUrl,
  FULL_URI_ENV,
  POD_LAYOUT as L,
  SIDECAR_BUNDLE_IN_IMAGE,
  SIDECAR_NODE_FLAGS,
  TOKEN_FILE_ENV,
} from '../lib/sidecar-pod-layout.ts'
import { formatDuration } from '../lib/flags.ts'
import type { InjectorConfig } from './config.ts'
import type { SidecarSettings } from './sidecar-settings.ts'

export interface SidecarSpec {
  readonly container: V1Container
  readonly volumes: readonly V1Volume[]
  readonly appEnv: readonly V1EnvVar[]
  readonly appMount: V1VolumeMount
  readonly native: boolean
  /** AWS_REGION for app containers that set none (app-env.ts), if the injector has one. */
  readonly region: string | undefined
  readonly settings: SidecarSettings
}

/**
 * Passes Pod Security `restricted`: non-root, no privilege escalation, no capabilities, seccomp.
 * The UID is added per pod (securityContext below).
 */
export const RESTRICTED_SECURITY_CONTEXT: V1SecurityContext = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
}

export type SpecConfig = SidecarSettings &
  Pick<
    InjectorConfig,
    | 'sidecarImage'
    | 'imagePullPolicy'
    | 'brokerUrl'
    | 'brokerCaConfigMap'
    | 'brokerCaClusterTrustBundle'
    | 'tokenAudience'
    | 'tokenExpiration'
    | 'nativeSidecars'
    | 'awsRegion'
    | 'meshUidBypass'
  >

function securityContext(uid: number | undefined): V1SecurityContext {
  if (uid === undefined) return RESTRICTED_SECURITY_CONTEXT
  const { runAsNonRoot, ...rest } = RESTRICTED_SECURITY_CONTEXT
  return { runAsNonRoot, runAsUser: uid, runAsGroup: uid, ...rest }
}

/** The pod's sidecar: cluster-wide parts from cfg, per-pod settings (default: cfg's own). */
export function sidecarSpec(cfg: SpecConfig, s: SidecarSettings = cfg): SidecarSpec {
  const container: V1Container = {
    name: L.containerName,
    image: cfg.sidecarImage,
    imagePullPolicy: cfg.imagePullPolicy,
    command: ['node', ...SIDECAR_NODE_FLAGS, SIDECAR_BUNDLE_IN_IMAGE],
    args: [
      `--port=${s.sidecarPort}`,
      `--health-port=${s.sidecarHealthPort}`,
      `--secret-dir=${L.secretDir}`,
      `--token-file=${L.tokenFile}`,
      `--broker-url=${cfg.brokerUrl.href.replace(/\/$/, '')}`,
      `--broker-ca-file=${L.brokerCaFile}`,
      `--log-level=${s.sidecarLogLevel}`,
      `--refresh-window=${formatDuration(s.sidecarRefreshWindow)}`,
      `--upstream-timeout=${formatDuration(s.sidecarUpstreamTimeout)}`,
    ],
    ports: [{ name: 'iam-health', containerPort: s.sidecarHealthPort, protocol: 'TCP' }],
    // The credentials port is loopback-only; the kubelet probes the health listener instead.
    startupProbe: {
      httpGet: { path: '/readyz', port: s.sidecarHealthPort },
      periodSeconds: 1,
      failureThreshold: 120,
      timeoutSeconds: 1,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port: s.sidecarHealthPort },
      periodSeconds: 10,
      failureThreshold: 3,
      timeoutSeconds: 1,
    },
    resources: {
      requests: { cpu: s.cpuRequest, memory: s.memoryRequest },
      limits: { memory: s.memoryLimit, ...(s.cpuLimit ? { cpu: s.cpuLimit } : {}) },
    },
    securityContext: securityContext(s.sidecarRunAsUser),
    volumeMounts: [
      { name: L.tokenVolume, mountPath: L.tokenDir, readOnly: true },
      { name: L.secretVolume, mountPath: L.secretDir },
      { name: L.brokerCaVolume, mountPath: L.brokerCaDir, readOnly: true },
    ],
    ...(cfg.nativeSidecars ? { restartPolicy: 'Always' } : {}),
  }
  const volumes: V1Volume[] = [
    {
      name: L.tokenVolume,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: cfg.tokenAudience,
              expirationSeconds: Math.round(cfg.tokenExpiration / 1000),
              path: 'token',
            },
          },
        ],
      },
    },
    { name: L.secretVolume, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
    brokerCaVolume(cfg),
  ]
  return {
    container,
    volumes,
    appEnv: [
      { name: FULL_URI_ENV, value: credentialsUrl(s.sidecarPort) },
      { name: TOKEN_FILE_ENV, value: L.secretFile },
    ],
    appMount: { name: L.secretVolume, mountPath: L.secretDir, readOnly: true },
    native: cfg.nativeSidecars,
    region: cfg.awsRegion,
    settings: s,
  }
}

/**
 * The broker CA: from a ClusterTrustBundle where the cluster has them (one cluster-scoped object,
 * so a namespace created after the install needs nothing), else from a ConfigMap that must exist
 * in the pod's namespace.
 */
function brokerCaVolume(cfg: SpecConfig): V1Volume {
  if (cfg.brokerCaClusterTrustBundle) {
    return {
      name: L.brokerCaVolume,
      projected: {
        sources: [{ clusterTrustBundle: { name: cfg.brokerCaClusterTrustBundle, path: 'ca.crt' } }],
      },
    }
  }
  return {
    name: L.brokerCaVolume,
    configMap: { name: cfg.brokerCaConfigMap, items: [{ key: 'ca.crt', path: 'ca.crt' }] },
  }
}
