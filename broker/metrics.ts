// Prometheus metrics of the broker, served on their own port (never on the credentials port).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export type RequestOutcome = 'ok' | 'unauthenticated' | 'denied' | 'unavailable' | 'error'

export class BrokerMetrics {
  readonly registry = new Registry()
  readonly requests = new Counter({
    name: 'iam_sidecar_broker_requests_total',
    help: 'Credential requests by outcome.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly requestSeconds = new Histogram({
    name: 'iam_sidecar_broker_request_duration_seconds',
    help: 'Credential request latency by outcome.',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  })
  readonly tokenReviews = new Counter({
    name: 'iam_sidecar_broker_token_reviews_total',
    help: 'TokenReview calls to the API server by outcome (ok, rejected, error), and busy: not made because the TokenReview queue was full (answered 503).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly tokenPrecheckRefusals = new Counter({
    name: 'iam_sidecar_broker_token_precheck_refusals_total',
    help: 'Tokens refused (401) before any TokenReview because they cannot pass it (not a JWT, expired, wrong audience...), by reason.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })
  readonly stsCalls = new Counter({
    name: 'iam_sidecar_broker_sts_calls_total',
    help: 'sts:AssumeRole calls by outcome (ok, throttled, transient, denied, invalid, identity).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly identityFaults = new Counter({
    name: 'iam_sidecar_broker_identity_faults_total',
    help: "STS failures caused by the broker's own AWS identity (answered 503, not a denial), by AWS error code.",
    labelNames: ['code'] as const,
    registers: [this.registry],
  })
  readonly identityOk = new Gauge({
    name: 'iam_sidecar_broker_identity_ok',
    help: "1 while the broker's own AWS identity works (GetCallerIdentity), 0 while it is broken.",
    registers: [this.registry],
  })
  readonly stsSeconds = new Histogram({
    name: 'iam_sidecar_broker_sts_duration_seconds',
    help: 'sts:AssumeRole latency.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  })
  readonly cacheHits = new Counter({
    name: 'iam_sidecar_broker_session_cache_hits_total',
    help: 'Sessions served from the cache.',
    registers: [this.registry],
  })
  readonly cacheMisses = new Counter({
    name: 'iam_sidecar_broker_session_cache_misses_total',
    help: 'Sessions that needed an AssumeRole.',
    registers: [this.registry],
  })
  readonly cachePrefetches = new Counter({
    name: 'iam_sidecar_broker_session_cache_prefetches_total',
    help: 'Background refreshes of sessions nearing min-remaining.',
    registers: [this.registry],
  })
  readonly cacheSize = new Gauge({
    name: 'iam_sidecar_broker_session_cache_size',
    help: 'Sessions held in the cache.',
    registers: [this.registry],
  })

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'iam_sidecar_broker_' })
  }
}
