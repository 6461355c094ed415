// What the injector adds, built once from the configuration: the sidecar container, the three
// volumes, and the env and mount every app container gets. Pure data; patch.ts places it.
import type {
  V1Container,
  V1EnvVar,
  V1SecurityContext,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node'
import {
  CREDENTIALS_URL,
  FULL_URI_ENV,
  POD_LAYOUT as L,
  SIDECAR_BUNDLE_IN_IMAGE,
  SIDECAR_NODE_FLAGS,
  TOKEN_FILE_ENV,
} from '../lib/sidecar-runtime.ts'
import type { InjectorConfig } from './config.ts'

export interface SidecarSpec {
  readonly container: V1Container
  readonly volumes: readonly V1Volume[]
  readonly appEnv: readonly V1EnvVar[]
  readonly appMount: V1VolumeMount
  readonly native: boolean
}

/** Passes Pod Security `restricted`: non-root, no privilege escalation, no capabilities, seccomp. */
export const RESTRICTED_SECURITY_CONTEXT: V1SecurityContext = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
}

type SpecConfig = Pick<
  InjectorConfig,
  | 'sidecarImage'
  | 'imagePullPolicy'
  | 'brokerUrl'
  | 'brokerCaConfigMap'
  | 'brokerCaClusterTrustBundle'
  | 'tokenAudience'
  | 'tokenExpiration'
  | 'nativeSidecars'
  | 'cpuRequest'
  | 'memoryRequest'
  | 'memoryLimit'
  | 'cpuLimit'
>

export function sidecarSpec(cfg: SpecConfig): SidecarSpec {
  const container: V1Container = {
    name: L.containerName,
    image: cfg.sidecarImage,
    imagePullPolicy: cfg.imagePullPolicy,
    command: ['node', ...SIDECAR_NODE_FLAGS, SIDECAR_BUNDLE_IN_IMAGE],
    args: [
      `--port=${L.port}`,
      `--health-port=${L.healthPort}`,
      `--secret-dir=${L.secretDir}`,
      `--token-file=${L.tokenFile}`,
      `--broker-url=${cfg.brokerUrl.href.replace(/\/$/, '')}`,
      `--broker-ca-file=${L.brokerCaFile}`,
    ],
    ports: [{ name: 'iam-health', containerPort: L.healthPort, protocol: 'TCP' }],
    // The credentials port is loopback-only; the kubelet probes the health listener instead.
    startupProbe: {
      httpGet: { path: '/readyz', port: L.healthPort },
      periodSeconds: 1,
      failureThreshold: 120,
      timeoutSeconds: 1,
    },
    livenessProbe: {
      httpGet: { path: '/healthz', port: L.healthPort },
      periodSeconds: 10,
      failureThreshold: 3,
      timeoutSeconds: 1,
    },
    resources: {
      requests: { cpu: cfg.cpuRequest, memory: cfg.memoryRequest },
      limits: { memory: cfg.memoryLimit, ...(cfg.cpuLimit ? { cpu: cfg.cpuLimit } : {}) },
    },
    securityContext: RESTRICTED_SECURITY_CONTEXT,
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
      { name: FULL_URI_ENV, value: CREDENTIALS_URL },
      { name: TOKEN_FILE_ENV, value: L.secretFile },
    ],
    appMount: { name: L.secretVolume, mountPath: L.secretDir, readOnly: true },
    native: cfg.nativeSidecars,
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
