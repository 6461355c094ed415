// Holds the pod's current credentials and keeps them fresh. Requests read a snapshot from memory
// and never wait on the upstream while valid credentials exist; fetches are coalesced, refreshed
// ahead of expiry with jitter, and retried with backoff on failure.
import { toBody, type Credentials } from '../lib/credentials.ts'
import type { Clock, Random } from '../lib/clock.ts'
import type { Logger } from '../lib/log.ts'
import { UpstreamError, type CredentialSource, type FailureKind } from './credential-source.ts'
import { backoffDelay, EXPIRY_MARGIN_MS, refreshDelay } from './schedule.ts'

/** What a request sees: a ready body, or why there is none. */
export type Snapshot =
  | { readonly kind: 'ok'; readonly body: string; readonly expiresAt: number }
  | { readonly kind: 'denied'; readonly code: string; readonly message: string }
  | { readonly kind: 'unavailable'; readonly code: string; readonly message: string }

interface Held {
  readonly creds: Credentials
  /** Serialised once per refresh, not once per request. */
  readonly body: string
}

export interface CacheOptions {
  readonly source: CredentialSource
  readonly clock: Clock
  readonly random: Random
  readonly refreshWindowMs: number
  readonly log: Logger
}

export class CredentialCache {
  readonly #o: CacheOptions
  #held: Held | undefined
  #lastFailure: { kind: FailureKind; code: string; message: string } | undefined
  #inFlight: Promise<void> | undefined
  #failures = 0
  #cancelTimer: (() => void) | undefined
  #stopped = false
  #everReady = false

  constructor(o: CacheOptions) {
    this.#o = o
  }

  /** Starts the first fetch; later fetches schedule themselves. */
  start(): void {
    void this.refresh()
  }

  stop(): void {
    this.#stopped = true
    this.#cancelTimer?.()
  }

  /** True once credentials have been obtained at least once. */
  get ready(): boolean {
    return this.#everReady
  }

  get fetching(): boolean {
    return this.#inFlight !== undefined
  }

  snapshot(): Snapshot {
    const held = this.#held
    if (held && this.#o.clock.now() < held.creds.expiresAt - EXPIRY_MARGIN_MS) {
      return { kind: 'ok', body: held.body, expiresAt: held.creds.expiresAt }
    }
    const f = this.#lastFailure
    if (f?.kind === 'denied') return { kind: 'denied', code: f.code, message: f.message }
    if (held) {
      return {
        kind: 'unavailable',
        code: 'CredentialsExpired',
        message: `credentials expired and could not be refreshed${f ? `: ${f.message}` : ''}; retrying`,
      }
    }
    return {
      kind: 'unavailable',
      code: 'CredentialsNotReady',
      message: f
        ? `credentials not available yet: ${f.message}; retrying`
        : 'credentials not available yet; retrying',
    }
  }

  /** Resolves when the in-flight fetch settles or after `ms`, whichever is first. */
  async settled(ms: number): Promise<void> {
    const inFlight = this.#inFlight
    if (!inFlight || ms <= 0) return
    let cancel: (() => void) | undefined
    await Promise.race([
      inFlight,
      new Promise<void>((r) => (cancel = this.#o.clock.setTimer(r, ms))),
    ])
    cancel?.()
  }

  /** Fetches now unless a fetch is already running (concurrent callers share it). */
  refresh(): Promise<void> {
    this.#inFlight ??= this.#fetch().finally(() => {
      this.#inFlight = undefined
    })
    return this.#inFlight
  }

  async #fetch(): Promise<void> {
    this.#cancelTimer?.()
    const { source, clock, log } = this.#o
    try {
      const creds = await source.fetch()
      if (creds.expiresAt - EXPIRY_MARGIN_MS <= clock.now()) {
        throw new UpstreamError(
          'transient',
          'ExpiredUpstream',
          'upstream returned credentials that are already expired',
        )
      }
      this.#held = { creds, body: JSON.stringify(toBody(creds)) }
      this.#lastFailure = undefined
      this.#failures = 0
      this.#everReady = true
      const delay = refreshDelay(
        clock.now(),
        creds.expiresAt,
        this.#o.refreshWindowMs,
        this.#o.random,
      )
      log.info('credentials refreshed', {
        roleArn: creds.roleArn,
        expiresAt: new Date(creds.expiresAt).toISOString(),
        nextRefreshInMs: delay,
      })
      this.#schedule(delay)
    } catch (err) {
      this.#onFailure(err)
    }
  }

  #onFailure(err: unknown): void {
    const e =
      err instanceof UpstreamError
        ? err
        : new UpstreamError('transient', 'UpstreamError', (err as Error)?.message ?? String(err))
    this.#lastFailure = { kind: e.kind, code: e.code, message: e.message }
    // A denial is a decision of the broker (policy or annotation changed): stop handing out the
    // role now rather than at expiry. Other failures keep the cached credentials until expiry.
    if (e.kind === 'denied') this.#held = undefined
    const delay = backoffDelay(this.#failures++, this.#o.random)
    const held = this.#held
    this.#o.log.warn('credential refresh failed', {
      kind: e.kind,
      code: e.code,
      error: e.message,
      retryInMs: delay,
      servingUntil: held ? new Date(held.creds.expiresAt).toISOString() : null,
    })
    this.#schedule(delay)
  }

  #schedule(delay: number): void {
    if (this.#stopped) return
    this.#cancelTimer = this.#o.clock.setTimer(() => void this.refresh(), delay)
  }
}
