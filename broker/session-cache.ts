// The broker's cache of assumed-role sessions, so that STS sees at most a couple of calls per
// session per hour however often sidecars ask, and concurrent asks for one session share one
// call.
//
// Timing (lib/session-timing.ts derives the thresholds from the session duration and the
// sidecars' window; here the defaults for 60-minute sessions and the 30-minute window):
//   session duration (60m) > prefetchBelowMs (50m) > minRemainingMs (40m) > refresh point (30m)
// - minRemainingMs > the sidecars' refresh point (their window, or half the lifetime they were
//   handed if that comes later): a sidecar always receives a session with more than that left,
//   so it does not turn around and ask again at once (40 − 30 = at least 10 minutes of quiet).
// - prefetchBelowMs > minRemainingMs: once a served session is older than 10 minutes, a request
//   starts a background refresh, and that refresh has another 10 minutes to succeed before the
//   old session stops being servable; callers (a 'shared' key serves many pods) never wait.
// - duration > prefetchBelowMs, or every hit would prefetch.
import { LRUCache } from 'lru-cache'
import type { Clock } from '../lib/clock.ts'
import type { Credentials } from '../lib/credentials.ts'
import type { Logger } from '../lib/log.ts'

export interface SessionCacheObserver {
  hit(): void
  miss(): void
  prefetch(): void
  size(n: number): void
}

export interface SessionCacheOptions {
  /** Entries beyond this are evicted, least recently used first. */
  readonly max: number
  readonly clock: Clock
  /** An entry is served only while at least this much of its lifetime is left. */
  readonly minRemainingMs: number
  /** A served entry with less than this left is refreshed in the background. */
  readonly prefetchBelowMs: number
  /** After a failed background refresh, wait this long before trying again; default 30 s. */
  readonly prefetchRetryMs?: number | undefined
  readonly observer?: SessionCacheObserver | undefined
  readonly log: Logger
}

interface Entry {
  readonly creds: Credentials
  /** No background refresh before this time (set after one failed). */
  prefetchNotBefore: number
}

const DEFAULT_PREFETCH_RETRY_MS = 30_000

const noObserver: SessionCacheObserver = { hit() {}, miss() {}, prefetch() {}, size() {} }

/** The cache key: per pod for 'pod' scope, per ServiceAccount for 'shared' scope; plus the role. */
export function sessionKey(
  scope: 'pod' | 'shared',
  p: { podUid: string; namespace: string; serviceAccount: string; roleArn: string },
): string {
  // '|' cannot occur in a uid, a Kubernetes name or an IAM role ARN, so distinct inputs never
  // collide, and the key stays readable in logs.
  return scope === 'pod'
    ? ['pod', p.podUid, p.roleArn].join('|')
    : ['shared', p.namespace, p.serviceAccount, p.roleArn].join('|')
}

export class SessionCache {
  readonly #o: SessionCacheOptions
  readonly #observer: SessionCacheObserver
  readonly #lru: LRUCache<string, Entry>
  /** Loads in flight by key: misses and background refreshes of one key share one. */
  readonly #loading = new Map<string, Promise<Credentials>>()

  constructor(o: SessionCacheOptions) {
    if (o.prefetchBelowMs < o.minRemainingMs)
      throw new RangeError('SessionCache: prefetchBelowMs must be at least minRemainingMs')
    this.#o = o
    this.#observer = o.observer ?? noObserver
    this.#lru = new LRUCache<string, Entry>({ max: o.max })
  }

  get size(): number {
    return this.#lru.size
  }

  /**
   * A servable session for `key`, from the cache or from `load` (one load per key at a time; a
   * failed load rejects every waiter and is not cached, so the next call tries again).
   */
  get(key: string, load: () => Promise<Credentials>): Promise<Credentials> {
    const entry = this.#lru.get(key)
    const now = this.#o.clock.now()
    if (entry && entry.creds.expiresAt - now >= this.#o.minRemainingMs) {
      this.#observer.hit()
      if (entry.creds.expiresAt - now < this.#o.prefetchBelowMs && now >= entry.prefetchNotBefore)
        this.#prefetch(key, entry, load)
      return Promise.resolve(entry.creds)
    }
    if (entry) this.#forget(key)
    this.#observer.miss()
    return this.#load(key, load)
  }

  /** Drops a key (its pod is gone); a load in flight for it will not be stored. */
  delete(key: string): void {
    this.#loading.delete(key)
    this.#forget(key)
  }

  #forget(key: string): void {
    this.#lru.delete(key)
    this.#observer.size(this.#lru.size)
  }

  #load(key: string, load: () => Promise<Credentials>): Promise<Credentials> {
    const inFlight = this.#loading.get(key)
    if (inFlight) return inFlight
    // Only the load still registered for its key may store or unregister: delete() or a newer
    // load may have replaced it meanwhile. The callbacks run after `p` is assigned.
    const mine = (): boolean => this.#loading.get(key) === p
    const p: Promise<Credentials> = (async () => load())().then(
      (creds) => {
        if (mine()) {
          this.#loading.delete(key)
          this.#store(key, creds)
        }
        return creds
      },
      (err: unknown) => {
        if (mine()) this.#loading.delete(key)
        throw err
      },
    )
    this.#loading.set(key, p)
    return p
  }

  #store(key: string, creds: Credentials): void {
    const left = creds.expiresAt - this.#o.clock.now()
    if (left < this.#o.minRemainingMs)
      // Served to this caller but useless to the next: sessions are configured shorter than
      // minRemainingMs, and every request will reach STS until that is fixed.
      this.#o.log.warn('new STS session is shorter than the cache minimum; not reusable', {
        remainingMs: left,
        minRemainingMs: this.#o.minRemainingMs,
      })
    this.#lru.set(key, { creds, prefetchNotBefore: 0 })
    this.#observer.size(this.#lru.size)
  }

  #prefetch(key: string, entry: Entry, load: () => Promise<Credentials>): void {
    if (this.#loading.has(key)) return
    this.#observer.prefetch()
    this.#load(key, load).catch((err: unknown) => {
      // The old session is still servable; keep it, and do not let every hit retry STS.
      entry.prefetchNotBefore =
        this.#o.clock.now() + (this.#o.prefetchRetryMs ?? DEFAULT_PREFETCH_RETRY_MS)
      this.#o.log.warn('background session refresh failed; serving the cached session', {
        key,
        err,
        remainingMs: entry.creds.expiresAt - this.#o.clock.now(),
      })
    })
  }
}
