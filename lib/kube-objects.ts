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
  type V1ListMeta,
  type V1Namespace,
  type V1Pod,
  type V1ServiceAccount,
} from '@kubernetes/client-node'
import { INJECTED_LABEL } from './annotations.ts'
import { unavailable } from './errors.ts'
import { namespaceView, podView, serviceAccountView } from './object-views.ts'
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
  /**
   * Informers that have listed successfully at least once; ready when all have. Readiness does
   * not drop when the API server goes away later: the caches still answer, and a broker that
   * turned unready would cut pods off from sessions it already authorised.
   */
  readonly #listed = new Set<string>()
  #watched = 0

  /**
   * `pods: false` (the injector) watches only namespaces and ServiceAccounts: the pod under
   * admission arrives in the request. `nodeName` (broker node mode) watches that node's pods only.
   */
  constructor(kc: KubeConfig, o: { pods: boolean; nodeName?: string | undefined; log: Logger }) {
    const api = kc.makeApiClient(CoreV1Api)
    this.#api = api
    this.#log = o.log
    // Only pods the injector labelled are watched (a pod without the label is refused anyway;
    // the GET fallback finds it to say so), in node mode only this node's, and of each only the
    // fields authorisation reads (lib/object-views.ts): memory grows with injected pods, by little.
    const fieldSelector = o.nodeName ? `spec.nodeName=${o.nodeName}` : undefined
    const labelSelector = `${INJECTED_LABEL}=true`
    const watch = new Watch(kc)
    this.#pods = !o.pods
      ? undefined
      : new ListWatch<V1Pod>(
          '/api/v1/pods',
          viewingWatch(watch, podView),
          () =>
            listViews(
              (page) => api.listPodForAllNamespaces({ fieldSelector, labelSelector, ...page }),
              podView,
            ),
          false,
          labelSelector,
          fieldSelector,
        )
    this.#namespaces = new ListWatch<V1Namespace>(
      '/api/v1/namespaces',
      viewingWatch(watch, namespaceView),
      () => listViews((page) => api.listNamespace(page), namespaceView),
      false,
    )
    this.#sas = new ListWatch<V1ServiceAccount>(
      '/api/v1/serviceaccounts',
      viewingWatch(watch, serviceAccountView),
      () => listViews((page) => api.listServiceAccountForAllNamespaces(page), serviceAccountView),
      false,
    )
  }

  get synced(): boolean {
    return this.#watched > 0 && this.#listed.size === this.#watched
  }

  async start(): Promise<void> {
    const all: [string, Informer<KubernetesObject>][] = [
      ['namespaces', this.#namespaces as Informer<KubernetesObject>],
      ['serviceaccounts', this.#sas as Informer<KubernetesObject>],
    ]
    if (this.#pods) all.push(['pods', this.#pods as Informer<KubernetesObject>])
    this.#watched = all.length
    // start() resolves even when the first list fails (ListWatch reports it as an error event),
    // so an informer counts as listed only once a start finished without an error.
    for (const [name, inf] of all) keepRunning(name, inf, { log: this.#log, listed: this.#listed })
    await Promise.all(all.map(([name, inf]) => startTracked(name, inf, this.#listed)))
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

/** Objects per page of an informer's list: bounds what one response holds in memory at once. */
export const LIST_PAGE_SIZE = 500

/**
 * The whole list, read page by page, with `view` of each object: a cluster's pods in one
 * response are tens of megabytes parsed at once, and the heap that grew for them stays with the
 * process (its RSS does not come back down). The resourceVersion is the first page's: the list is
 * one consistent snapshot, and the watch resumes from it.
 */
export async function listViews<T, L extends { items: T[]; metadata?: V1ListMeta }>(
  list: (page: { limit: number; _continue?: string }) => Promise<L>,
  view: (o: T) => T,
): Promise<L> {
  const first = await list({ limit: LIST_PAGE_SIZE })
  const items = first.items.map(view)
  let next = first.metadata?._continue
  while (next) {
    const page = await list({ limit: LIST_PAGE_SIZE, _continue: next })
    for (const o of page.items) items.push(view(o))
    next = page.metadata?._continue
  }
  return { ...first, items, metadata: { ...first.metadata, _continue: undefined } }
}

/** A Watch whose ADDED and MODIFIED objects reach the informer as `view` of them. */
function viewingWatch<T>(watch: Watch, view: (o: T) => T): Watch {
  return {
    watch: (path, query, callback, done) =>
      watch.watch(
        path,
        query,
        (phase: string, obj: T, raw: unknown) =>
          callback(phase, phase === 'ADDED' || phase === 'MODIFIED' ? view(obj) : obj, raw),
        done,
      ),
  } as Watch
}

/** Starts an informer and records it once a start finishes without an error. */
async function startTracked(
  name: string,
  inf: Informer<KubernetesObject>,
  listed: Set<string>,
): Promise<void> {
  let failed = false
  const onError = (): void => {
    failed = true
  }
  inf.on('error', onError)
  try {
    await inf.start()
  } finally {
    inf.off('error', onError)
  }
  if (!failed) listed.add(name)
}

/** ListWatch stops on a list or watch error (other than a timeout); restart it after a pause. */
function keepRunning(
  name: string,
  inf: Informer<KubernetesObject>,
  o: { log: Logger; listed: Set<string> },
): void {
  inf.on('error', (err: unknown) => {
    o.log.warn('informer error; restarting', { informer: name, error: err as Error })
    setTimeout(() => void startTracked(name, inf, o.listed).catch(() => {}), RESTART_MS).unref()
  })
}
