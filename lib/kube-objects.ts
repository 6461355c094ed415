// The live objects authorisation reads: pods, namespaces, ServiceAccounts. Informers keep them in
// memory (so the broker answers without calling the API server, and keeps answering while it is
// down); a GET is the fallback for anything the informer has not seen yet.
import {
  CoreV1Api,
  ListWatch,
  Watch,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type V1Namespace,
  type V1Pod,
  type V1ServiceAccount,
} from '@kubernetes/client-node'
import { unavailable } from './errors.ts'
import type { Logger } from './log.ts'

export interface ObjectLookup {
  pod(namespace: string, name: string, uid: string): Promise<V1Pod | undefined>
  namespace(name: string): Promise<V1Namespace | undefined>
  serviceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined>
}

const RESTART_MS = 2_000

/** Informer-backed lookup; `start()` resolves once the first lists are loaded. */
export class InformerLookup implements ObjectLookup {
  readonly #api: CoreV1Api
  readonly #pods: ListWatch<V1Pod> | undefined
  readonly #namespaces: ListWatch<V1Namespace>
  readonly #sas: ListWatch<V1ServiceAccount>
  readonly #log: Logger
  #synced = false

  /**
   * `pods: false` (the injector) watches only namespaces and ServiceAccounts: the pod under
   * admission arrives in the request. `nodeName` (broker node mode) watches that node's pods only.
   */
  constructor(kc: KubeConfig, o: { pods: boolean; nodeName?: string | undefined; log: Logger }) {
    const api = kc.makeApiClient(CoreV1Api)
    this.#api = api
    this.#log = o.log
    // In node mode only this node's pods are watched: less memory, and nothing to leak.
    const fieldSelector = o.nodeName ? `spec.nodeName=${o.nodeName}` : undefined
    const watch = new Watch(kc)
    this.#pods = !o.pods
      ? undefined
      : new ListWatch(
          '/api/v1/pods',
          watch,
          () => api.listPodForAllNamespaces({ fieldSelector }),
          false,
          undefined,
          fieldSelector,
        )
    this.#namespaces = new ListWatch('/api/v1/namespaces', watch, () => api.listNamespace(), false)
    this.#sas = new ListWatch(
      '/api/v1/serviceaccounts',
      watch,
      () => api.listServiceAccountForAllNamespaces(),
      false,
    )
  }

  get synced(): boolean {
    return this.#synced
  }

  async start(): Promise<void> {
    const all: [string, Informer<KubernetesObject>][] = [
      ['namespaces', this.#namespaces as Informer<KubernetesObject>],
      ['serviceaccounts', this.#sas as Informer<KubernetesObject>],
    ]
    if (this.#pods) all.push(['pods', this.#pods as Informer<KubernetesObject>])
    for (const [name, inf] of all) keepRunning(name, inf, this.#log)
    await Promise.all(all.map(([, inf]) => inf.start()))
    this.#synced = true
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.#pods?.stop(), this.#namespaces.stop(), this.#sas.stop()])
  }

  async pod(namespace: string, name: string, uid: string): Promise<V1Pod | undefined> {
    const cached = this.#pods?.get(name, namespace)
    // A pod the informer has not seen yet, or an older pod of the same name: ask the API server.
    if (cached?.metadata?.uid === uid) return cached
    return this.#get(
      () => this.#api.readNamespacedPod({ name, namespace }),
      `pod ${namespace}/${name}`,
    )
  }

  async namespace(name: string): Promise<V1Namespace | undefined> {
    return (
      this.#namespaces.get(name) ??
      this.#get(() => this.#api.readNamespace({ name }), `namespace ${name}`)
    )
  }

  async serviceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined> {
    return (
      this.#sas.get(name, namespace) ??
      this.#get(
        () => this.#api.readNamespacedServiceAccount({ name, namespace }),
        `ServiceAccount ${namespace}/${name}`,
      )
    )
  }

  async #get<T>(fn: () => Promise<T>, what: string): Promise<T | undefined> {
    try {
      return await fn()
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined
      throw unavailable('KubernetesUnavailable', `cannot read ${what} from the API server`, {
        cause: err,
      })
    }
  }
}

/** ListWatch stops on a list or watch error (other than a timeout); restart it after a pause. */
function keepRunning(name: string, inf: Informer<KubernetesObject>, log: Logger): void {
  inf.on('error', (err: unknown) => {
    log.warn('informer error; restarting', { informer: name, error: err as Error })
    setTimeout(() => void inf.start().catch(() => {}), RESTART_MS).unref()
  })
}
