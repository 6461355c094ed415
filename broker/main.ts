// `iam-sidecar broker`: wiring only. Everything the broker talks to is built here and injected.
import { createServer } from 'node:https'
import { Drain } from '../lib/drain.ts'
import { closeServer, listen } from '../lib/servers.ts'
import { hostname } from 'node:os'
import { getRequestListener } from '@hono/node-server'
import { KubeConfig } from '@kubernetes/client-node'
import type { AwsAssumerOptions } from './aws-assumer.ts'
import { systemClock, systemRandom } from '../lib/clock.ts'
import { createLogger, type Logger } from '../lib/log.ts'
import { readTls, reloadOnChange } from '../lib/tls-reload.ts'
import { createBrokerApp } from './app.ts'
import { AwsAssumer } from './aws-assumer.ts'
import { CachingTokenReviewer } from './caching-token-reviewer.ts'
import { loadBrokerConfig, type BrokerConfig } from './config.ts'
import type { AuthoriseConfig } from './authorise.ts'
import { KubeEventSink, RateLimitedEvents } from './events.ts'
import { issueCredentials } from './issue-credentials.ts'
import { KubeTokenReviewer } from './kube-token-reviewer.ts'
import { PrecheckingTokenReviewer } from './prechecking-token-reviewer.ts'
import { BrokerMetrics } from './metrics.ts'
import { serveMetrics } from '../lib/metrics-server.ts'
import { InformerLookup } from '../lib/kube-objects.ts'
import { policyOptionsOf } from '../lib/policy.ts'
import { SessionCache } from './session-cache.ts'
import type { Assumer } from './sts.ts'
import { limitedAssume } from './assume.ts'
import { BrokerIdentityHealth, type Readiness } from './broker-identity.ts'
import { sessionTimingAtStart } from './start-timing.ts'

export interface BrokerRuntime {
  readonly port: number
  readonly metricsPort: number
  readonly metrics: BrokerMetrics
  /** SIGTERM: fail readiness, keep serving for --shutdown-delay, then finish what is in flight. */
  drain(): Promise<void>
  close(): Promise<void>
}

export interface BrokerOverrides {
  /** The broker identity; default: the AWS SDK's standard provider chain. */
  readonly awsCredentials?: AwsAssumerOptions['credentials']
  readonly log?: Logger
}

export async function startBroker(
  cfg: BrokerConfig,
  o: BrokerOverrides = {},
): Promise<BrokerRuntime> {
  const log = o.log ?? createLogger({ level: cfg.logLevel, component: 'broker' })
  const kc = new KubeConfig()
  if (cfg.kubeconfig) kc.loadFromFile(cfg.kubeconfig)
  else kc.loadFromCluster()
  const metrics = new BrokerMetrics()
  const assumer = new AwsAssumer({
    region: cfg.region,
    endpoint: cfg.stsEndpoint?.href,
    credentials: o.awsCredentials,
  })
  // Before anything starts: a timing that cannot work ends the start here.
  const timing = await sessionTimingAtStart(cfg, assumer, log)
  const base = new BaseRoleArn(cfg.baseRoleArn, assumer, log)
  const identity = new BrokerIdentityHealth({
    probe: () => assumer.callerIdentity(),
    clock: systemClock,
    random: systemRandom,
    log,
    onFault: (code) => metrics.identityFaults.inc({ code }),
    onHealth: (ok) => metrics.identityOk.set(ok ? 1 : 0),
  })
  identity.start()
  const objects = new InformerLookup(kc, {
    pods: true,
    nodeName: cfg.mode === 'node' ? cfg.nodeName : undefined,
    log,
  })
  const objectsStarted = objects
    .start()
    .catch((err: unknown) => log.error('informers failed to start', { error: err as Error }))
  const sessions = new SessionCache({
    max: cfg.cacheSize,
    clock: systemClock,
    minRemainingMs: timing.minRemainingMs,
    prefetchBelowMs: timing.prefetchBelowMs,
    log,
    observer: {
      hit: () => metrics.cacheHits.inc(),
      miss: () => metrics.cacheMisses.inc(),
      prefetch: () => metrics.cachePrefetches.inc(),
      size: (n) => metrics.cacheSize.set(n),
    },
  })
  const policy = policyOptionsOf(cfg)
  const authoriseConfig = (): AuthoriseConfig => ({
    mode: cfg.mode,
    nodeName: cfg.nodeName,
    policy,
    baseRoleArn: base.value,
    clusterName: cfg.clusterName,
    sessionTags: cfg.sessionTags,
    sourceIdentity: cfg.sourceIdentity,
    sessionDurationSeconds: Math.round(timing.durationMs / 1000),
  })
  const deps = {
    // Cheaply wrong tokens are refused first, then reviews come from the cache, then the API.
    reviewer: new PrecheckingTokenReviewer({
      inner: new CachingTokenReviewer({
        inner: new KubeTokenReviewer(kc, cfg.tokenAudience, (outcome) =>
          metrics.tokenReviews.inc({ outcome }),
        ),
        clock: systemClock,
        ttlMs: cfg.tokenReviewTtl,
        max: cfg.cacheSize,
      }),
      clock: systemClock,
      audience: cfg.tokenAudience,
      onRefused: (reason) => metrics.tokenPrecheckRefusals.inc({ reason }),
    }),
    objects,
    identity,
    authoriseConfig,
    sessions,
    scope: cfg.sessionScope,
    log,
    assume: limitedAssume(assumer, {
      ...cfg,
      clock: systemClock,
      random: systemRandom,
      metrics,
      log,
    }),
    events: new RateLimitedEvents({
      inner: new KubeEventSink(kc, { log, instance: hostname() }),
      clock: systemClock,
      windowMs: cfg.eventInterval,
    }),
  }
  const drain = new Drain()
  const app = createBrokerApp({
    issue: (token) => issueCredentials(token, deps),
    readiness: (): Readiness => {
      if (drain.draining)
        return { ready: false, code: 'ShuttingDown', message: 'the broker is shutting down' }
      if (!objects.synced)
        return { ready: false, code: 'NotReady', message: 'informers not synced yet' }
      if (base.value === undefined)
        return {
          ready: false,
          code: 'NotReady',
          message: 'base role ARN not known yet (GetCallerIdentity has not answered)',
        }
      return identity.readiness()
    },
    metrics,
    log,
  })
  const tlsFiles = { certFile: cfg.tlsCertFile, keyFile: cfg.tlsKeyFile }
  const server = createServer(
    {
      ...readTls(tlsFiles),
      requestTimeout: 30_000,
      headersTimeout: 10_000,
      maxHeaderSize: 32 * 1024,
    },
    getRequestListener(app.fetch),
  )
  drain.add(server)
  const stopReload = reloadOnChange(server, tlsFiles, { log, intervalMs: 5_000 })
  await listen(server, cfg.port, cfg.bindAddress)
  const metricsServer = await serveMetrics(
    metrics.registry,
    cfg.metricsPort,
    cfg.metricsBindAddress,
  )
  const port = (server.address() as { port: number }).port
  const metricsPort = (metricsServer.address() as { port: number }).port
  log.info('listening', {
    port,
    metricsPort,
    mode: cfg.mode,
    nodeName: cfg.nodeName,
    scope: cfg.sessionScope,
  })
  return {
    port,
    metricsPort,
    metrics,
    drain: () => drain.drain({ delayMs: cfg.shutdownDelay, log }),
    async close() {
      stopReload()
      base.stop()
      identity.stop()
      await objectsStarted
      await objects.stop()
      await Promise.all([closeServer(server), closeServer(metricsServer)])
    },
  }
}

/** The base ARN for short role names: configured, or the broker identity's account. */
class BaseRoleArn {
  value: string | undefined
  #timer: NodeJS.Timeout | undefined
  constructor(configured: string | undefined, assumer: Assumer, log: Logger) {
    this.value = configured
    if (configured === undefined) this.#detect(assumer, log, 1000)
  }
  #detect(assumer: Assumer, log: Logger, delayMs: number): void {
    assumer.callerIdentity().then(
      (me) => {
        const partition = me.arn.split(':')[1] ?? 'aws'
        this.value = `arn:${partition}:iam::${me.account}:role/`
        log.info('base role ARN detected from the broker identity', {
          baseRoleArn: this.value,
          identity: me.arn,
        })
      },
      (err: unknown) => {
        log.warn('cannot detect the base role ARN yet (GetCallerIdentity failed); retrying', {
          error: err as Error,
          retryInMs: delayMs,
        })
        this.#timer = setTimeout(
          () => this.#detect(assumer, log, Math.min(delayMs * 2, 60_000)),
          delayMs,
        )
        this.#timer.unref()
      },
    )
  }
  stop(): void {
    clearTimeout(this.#timer)
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  const cfg = loadBrokerConfig(argv)
  const broker = await startBroker(cfg)
  const shutdown = (): void =>
    void broker
      .drain()
      .then(() => broker.close())
      .then(() => process.exit(0))
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}
