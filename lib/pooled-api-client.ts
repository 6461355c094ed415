// An API client of @kubernetes/client-node that keeps its connections. client-node 2.0 builds a
// new undici Agent for every request (KubeConfig.applySecurityAuthentication → createDispatcher,
// not cached), so every call pays a new TCP connection and TLS handshake: about 6 ms of CPU per
// TokenReview here, which is what a flood of forged tokens would cost the broker each.
// The authentication headers are still kc's, applied per request (an in-cluster ServiceAccount
// token is re-read as the kubelet rotates it); only the first request's dispatcher is kept. A
// client certificate read from a file is therefore not re-read until the process restarts.
import type { KubeConfig } from '@kubernetes/client-node'
import {
  ServerConfiguration,
  createConfiguration,
  setHeaderMiddleware,
  type Configuration,
  type RequestContext,
  type SecurityAuthentication,
} from '@kubernetes/client-node'

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>

export function makePooledApiClient<T>(
  kc: KubeConfig,
  api: new (config: Configuration) => T,
  userAgent = 'iam-sidecar',
): T {
  const cluster = kc.getCurrentCluster()
  if (!cluster) throw new Error('the kubeconfig has no current cluster')
  let dispatcher: Dispatcher | undefined
  const auth: SecurityAuthentication = {
    getName: () => 'kubeconfig, one connection pool',
    async applySecurityAuthentication(context) {
      await kc.applySecurityAuthentication(context)
      dispatcher ??= context.getDispatcher()
      if (dispatcher) context.setDispatcher(dispatcher)
    },
  }
  return new api(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: auth },
      middleware: [setHeaderMiddleware('User-Agent', userAgent)],
    }),
  )
}
