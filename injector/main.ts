// `iam-sidecar injector`: wiring only. TLS from files (reloaded) or self-bootstrapped (a CA that
// all replicas share, kept in a Secret and published as the caBundle of our own
// MutatingWebhookConfiguration: self-bootstrap.ts).
import { createServer, type Server } from 'node:https'
import { getRequestListener } from '@hono/node-server'
import { KubeConfig } from '@kubernetes/client-node'
import { InformerLookup } from '../lib/kube-objects.ts'
import { createLogger, type Logger } from '../lib/log.ts'
import { serveMetrics } from '../lib/metrics-server.ts'
import { Drain } from '../lib/drain.ts'
import { closeServer, listen } from '../lib/servers.ts'
import { readTls, reloadOnChange } from '../lib/tls-reload.ts'
import { createInjectorApp } from './app.ts'
import { loadInjectorConfig, type InjectorConfig } from './config.ts'
import { injectionConfigOf } from './plan-injection.ts'
import { InjectorMetrics } from './metrics.ts'
import { startSelfBootstrappedTls } from './self-bootstrap.ts'

export interface InjectorRuntime {
  readonly port: number
  readonly metricsPort: number
  /** The CA of the serving certificate when self-bootstrapped (at start; it may rotate). */
  readonly caPem: string | undefined
  /** SIGTERM: fail readiness, keep serving for --shutdown-delay, then finish what is in flight. */
  drain(): Promise<void>
  close(): Promise<void>
}

const SERVER_OPTIONS = { requestTimeout: 30_000, headersTimeout: 10_000, maxHeaderSize: 32 * 1024 }

export async function startInjector(
  cfg: InjectorConfig,
  o: { log?: Logger } = {},
): Promise<InjectorRuntime> {
  const log = o.log ?? createLogger({ level: cfg.logLevel, component: 'injector' })
  const kc = new KubeConfig()
  if (cfg.kubeconfig) kc.loadFromFile(cfg.kubeconfig)
  else kc.loadFromCluster()
  const lookups = new InformerLookup(kc, { pods: false, log })
  const started = lookups
    .start()
    .catch((err: unknown) => log.error('informers failed to start', { error: err as Error }))
  const decideConfig = injectionConfigOf(cfg)
  const metrics = new InjectorMetrics()
  const drain = new Drain()
  const app = createInjectorApp({
    lookups,
    config: () => decideConfig,
    ready: () => lookups.synced && !drain.draining,
    metrics,
    log,
  })
  const { server, caPem, stopTls } = await tlsServer(cfg, kc, log, getRequestListener(app.fetch))
  drain.add(server)
  await listen(server, cfg.port, cfg.bindAddress)
  const metricsServer = await serveMetrics(
    metrics.registry,
    cfg.metricsPort,
    cfg.metricsBindAddress,
  )
  const port = (server.address() as { port: number }).port
  const metricsPort = (metricsServer.address() as { port: number }).port
  log.info('listening', { port, metricsPort, selfBootstrappedTls: caPem !== undefined })
  return {
    port,
    metricsPort,
    caPem,
    drain: () => drain.drain({ delayMs: cfg.shutdownDelay, log }),
    async close() {
      stopTls()
      await started
      await lookups.stop()
      await Promise.all([closeServer(server), closeServer(metricsServer)])
    },
  }
}

async function tlsServer(
  cfg: InjectorConfig,
  kc: KubeConfig,
  log: Logger,
  handler: ReturnType<typeof getRequestListener>,
): Promise<{ server: Server; caPem: string | undefined; stopTls: () => void }> {
  if (!cfg.tlsSelfBootstrap) {
    const files = { certFile: cfg.tlsCertFile!, keyFile: cfg.tlsKeyFile! }
    const server = createServer({ ...readTls(files), ...SERVER_OPTIONS }, handler)
    return {
      server,
      caPem: undefined,
      stopTls: reloadOnChange(server, files, { log, intervalMs: 5_000 }),
    }
  }
  const svc = `${cfg.serviceName}.${cfg.serviceNamespace}.svc`
  // Publishes the CA before serving: the API server must trust the certificate from its first call.
  const tls = await startSelfBootstrappedTls(
    kc,
    {
      webhookConfigName: cfg.webhookConfigName,
      caSecret: { namespace: cfg.serviceNamespace, name: cfg.webhookCaSecret },
      dnsNames: [svc, `${svc}.cluster.local`, cfg.serviceName, 'localhost'],
      ipAddresses: ['127.0.0.1'],
      policy: { validityMs: cfg.webhookCaValidity, checkIntervalMs: cfg.webhookCaCheckInterval },
    },
    { log },
  )
  const server = createServer({ ...tls.serving, ...SERVER_OPTIONS }, handler)
  return { server, caPem: tls.caPem, stopTls: tls.watch(server) }
}

export async function main(argv: readonly string[]): Promise<void> {
  const cfg = loadInjectorConfig(argv)
  const injector = await startInjector(cfg)
  const shutdown = (): void =>
    void injector
      .drain()
      .then(() => injector.close())
      .then(() => process.exit(0))
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}
