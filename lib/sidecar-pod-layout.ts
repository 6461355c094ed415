// What a pod with the sidecar looks like: how the sidecar process is started, the names, paths and
// default ports of what the injector adds, and the env vars the apps read. Shared by the injector
// (which writes it into pod specs), the tests and the benchmarks, so all measure what pods run.

/** The bundle's path inside the image. */
export const SIDECAR_BUNDLE_IN_IMAGE = '/app/dist/sidecar.mjs'

/**
 * V8 flags that keep the sidecar's heap small. The young generation dominates RSS under load
 * (its semi-spaces default to 16 MiB each); the sidecar allocates little that survives, so 1 MiB
 * semi-spaces cost a little throughput and save most of that memory.
 */
export const SIDECAR_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=1',
  '--max-old-space-size=64',
]

/**
 * Names and paths of what the injector adds to a pod; the sidecar's flags are set to match. The
 * two ports are defaults: the injector's --sidecar-port/--sidecar-health-port and a pod's
 * annotations may move them.
 */
export const POD_LAYOUT = Object.freeze({
  containerName: 'iam-sidecar',
  port: 9911,
  healthPort: 9912,
  secretVolume: 'iam-sidecar-secret',
  secretDir: '/var/run/iam-sidecar/secret',
  secretFile: '/var/run/iam-sidecar/secret/token',
  tokenVolume: 'iam-sidecar-token',
  tokenDir: '/var/run/secrets/iam-sidecar/serviceaccount',
  tokenFile: '/var/run/secrets/iam-sidecar/serviceaccount/token',
  brokerCaVolume: 'iam-sidecar-broker-ca',
  brokerCaDir: '/var/run/iam-sidecar/broker-ca',
  brokerCaFile: '/var/run/iam-sidecar/broker-ca/ca.crt',
})

/** The env vars every AWS SDK reads (never the RELATIVE_URI: botocore would prefer it). */
export const FULL_URI_ENV = 'AWS_CONTAINER_CREDENTIALS_FULL_URI'
export const TOKEN_FILE_ENV = 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE'
/** What AWS_CONTAINER_CREDENTIALS_FULL_URI says for a sidecar on `port` (default: the layout's). */
export function credentialsUrl(port: number = POD_LAYOUT.port): string {
  return `http://127.0.0.1:${port}/v1/credentials`
}
