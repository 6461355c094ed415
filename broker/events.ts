// Every denial and STS failure also becomes a Kubernetes Event on the pod, so `kubectl describe
// pod` explains it. Rate-limited per pod and reason (a sidecar retries often), fire-and-forget:
// a failure to record an Event never changes an answer. Messages are our own denial texts,
// which never contain a token or a credential.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node'
import { LRUCache } from 'lru-cache'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../lib/log.ts'

export interface PodRef {
  readonly namespace: string
  readonly name: string
  readonly uid: string
}

export interface PodEvent {
  readonly type: 'Warning' | 'Normal'
  readonly reason: string
  readonly message: string
}

export interface EventSink {
  podEvent(pod: PodRef, event: PodEvent): void
}

export const COMPONENT = 'iam-sidecar-broker'

/** Keeps one Event per pod and reason per window. */
export class RateLimitedEvents implements EventSink {
  readonly #inner: EventSink
  readonly #seen: LRUCache<string, number>
  readonly #clock: Clock
  readonly #windowMs: number
  constructor(o: { inner: EventSink; clock: Clock; windowMs: number; max?: number }) {
    this.#inner = o.inner
    this.#clock = o.clock
    this.#windowMs = o.windowMs
    this.#seen = new LRUCache({ max: o.max ?? 10_000 })
  }
  podEvent(pod: PodRef, event: PodEvent): void {
    const key = `${pod.uid}/${event.reason}`
    const now = this.#clock.now()
    const last = this.#seen.get(key)
    if (last !== undefined && now - last < this.#windowMs) return
    this.#seen.set(key, now)
    this.#inner.podEvent(pod, event)
  }
}

export class KubeEventSink implements EventSink {
  readonly #api: CoreV1Api
  readonly #log: Logger
  readonly #instance: string
  constructor(kc: KubeConfig, o: { log: Logger; instance: string }) {
    this.#api = kc.makeApiClient(CoreV1Api)
    this.#log = o.log
    this.#instance = o.instance
  }
  podEvent(pod: PodRef, event: PodEvent): void {
    const now = new Date()
    this.#api
      .createNamespacedEvent({
        namespace: pod.namespace,
        body: {
          metadata: { generateName: `${pod.name}.`, namespace: pod.namespace },
          involvedObject: {
            apiVersion: 'v1',
            kind: 'Pod',
            namespace: pod.namespace,
            name: pod.name,
            uid: pod.uid,
          },
          type: event.type,
          reason: event.reason,
          message: event.message.slice(0, 1024),
          source: { component: COMPONENT },
          reportingComponent: COMPONENT,
          reportingInstance: this.#instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((err: unknown) =>
        this.#log.warn('cannot record Event', {
          pod: `${pod.namespace}/${pod.name}`,
          reason: event.reason,
          error: err as Error,
        }),
      )
  }
}

/** Fake EventSink for unit tests. */
export class FakeEvents implements EventSink {
  readonly events: { pod: PodRef; event: PodEvent }[] = []
  podEvent(pod: PodRef, event: PodEvent): void {
    this.events.push({ pod, event })
  }
}
