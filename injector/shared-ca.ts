// One CA for every injector replica and restart: the first to find no CA in the Secret makes
// one and creates the Secret; a replica that loses that race (409) reads the winner's. Rotation
// and pruning are writes over the version read, so racing replicas agree the same way.
import type { V1OwnerReference } from '@kubernetes/client-node'
import { CaSecretConflict, type CaSecretStore } from './ca-secret-store.ts'
import {
  decideCa,
  nextCaState,
  type CaDecision,
  type CaPolicy,
  type CaState,
  type StoredCa,
} from './ca-state.ts'

const MAX_ATTEMPTS = 5

export interface SharedCaDeps {
  readonly store: CaSecretStore
  readonly policy: CaPolicy
  readonly now: () => number
  /** Makes a CA valid for policy.validityMs. */
  readonly newCa: () => Promise<StoredCa>
  /** Set on a Secret this call creates, so it goes when its owner does. */
  readonly owner?: V1OwnerReference
}

/** The CA state every replica agrees on, after writing it when it needs to be made, rotated or
 * pruned; and what this call wrote ('keep': nothing). */
export async function ensureSharedCa(
  d: SharedCaDeps,
): Promise<{ state: CaState; wrote: CaDecision }> {
  for (let attempt = 1; ; attempt++) {
    const read = await d.store.read()
    const decision = decideCa(read?.state, d.now(), d.policy)
    if (decision === 'keep') return { state: read!.state!, wrote: 'keep' }
    const fresh = decision === 'prune' ? undefined : await d.newCa()
    const state = nextCaState(read?.state, decision, fresh, d.now())
    try {
      if (read) await d.store.replace(state, read)
      else await d.store.create(state, d.owner)
      return { state, wrote: decision }
    } catch (err) {
      if (!(err instanceof CaSecretConflict)) throw err
      if (attempt >= MAX_ATTEMPTS)
        throw new Error(`the webhook CA Secret changed concurrently on each of ${attempt} attempts`)
    }
  }
}
