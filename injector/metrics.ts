// Prometheus metrics of the injector, on their own port.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export class InjectorMetrics {
  readonly registry = new Registry()
  readonly reviews = new Counter({
    name: 'iam_sidecar_injector_reviews_total',
    help: 'Admission reviews by outcome (inject, skip, deny, ignored, error).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly reviewSeconds = new Histogram({
    name: 'iam_sidecar_injector_review_duration_seconds',
    help: 'Admission review latency inside the injector.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  })
  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'iam_sidecar_injector_' })
  }
}
