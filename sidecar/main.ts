// `iam-sidecar sidecar`: wiring only. Parse config, keep or write the pod secret, start the
// cache and the server, stop cleanly on SIGTERM.
import { systemClock, systemRandom } from '../lib/clock.ts'
import { createLogger } from '../lib/log.ts'
import { BrokerClient } from './broker-client.ts'
import { loadSidecarConfig } from './config.ts'
import { CredentialCache } from './credential-cache.ts'
import { loadOrCreateSecret, secretMatcher } from './secret.ts'
import { createHealthApp, createSidecarApp } from './app.ts'
import { serveApp } from './server.ts'

export async function main(argv: readonly string[]): Promise<void> {
  const started = performance.now()
  const cfg = loadSidecarConfig(argv)
  const log = createLogger({ level: cfg.logLevel, component: 'sidecar' })
  const { secret, file: secretFile, kept: secretKept } = loadOrCreateSecret(cfg.secretDir)
  const source = new BrokerClient({
    brokerUrl: cfg.brokerUrl,
    caFile: cfg.brokerCaFile,
    tokenFile: cfg.tokenFile,
    timeoutMs: cfg.upstreamTimeout,
    onCa: (e) =>
      e.reloaded
        ? log.info('broker CA changed; verifying the broker with the new bundle')
        : log.warn(e.reason),
  })
  const cache = new CredentialCache({
    source,
    clock: systemClock,
    random: systemRandom,
    refreshWindowMs: cfg.refreshWindow,
    log,
  })
  cache.start()
  const app = createSidecarApp({
    cache,
    checkSecret: secretMatcher(secret),
    expectedHost: `${cfg.bindAddress}:${cfg.port}`,
    coldWaitMs: cfg.coldWait,
    log,
  })
  const server = await serveApp(app, cfg.port, cfg.bindAddress)
  const health =
    cfg.healthPort > 0
      ? await serveApp(createHealthApp(cache), cfg.healthPort, '0.0.0.0')
      : undefined
  log.info('listening', {
    url: `http://${cfg.bindAddress}:${cfg.port}/v1/credentials`,
    secretFile,
    reusedFromLastRun: secretKept,
    broker: cfg.brokerUrl.origin,
    startupMs: Math.round(performance.now() - started),
  })
  const shutdown = (signal: string): void => {
    log.info('shutting down', { signal })
    cache.stop()
    for (const s of [server, health]) {
      s?.close()
      s?.closeIdleConnections()
    }
  }
  process.once('SIGTERM', () => shutdown('SIGTERM'))
  process.once('SIGINT', () => shutdown('SIGINT'))
}
