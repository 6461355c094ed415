// How the sidecar process is started, shared by the injector (which writes it into pod specs),
// the tests and the benchmark, so all measure what pods run.

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
