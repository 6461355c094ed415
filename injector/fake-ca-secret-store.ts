// Fake CaSecretStore for unit tests: one Secret in memory with a resourceVersion, the same
// conflict rules as the API server, and a hook that runs before each write so a test can let
// another replica write first.
import type { V1OwnerReference } from '@kubernetes/client-node'
import type { CaState } from './ca-state.ts'
import { CaSecretConflict, type CaSecret, type CaSecretStore } from './ca-secret-store.ts'

export class FakeCaSecretStore implements CaSecretStore {
  secret: (CaSecret & { owner?: V1OwnerReference }) | undefined
  writes = 0
  #version = 0
  /** Runs before each write is applied (once per write; cleared by setting it again). */
  beforeWrite: (() => Promise<void>) | undefined

  constructor(initial?: { state: CaState | undefined }) {
    if (initial) this.secret = { state: initial.state, resourceVersion: this.#next() }
  }

  #next(): string {
    return String(++this.#version)
  }

  async read(): Promise<CaSecret | undefined> {
    return this.secret && { state: this.secret.state, resourceVersion: this.secret.resourceVersion }
  }

  async create(state: CaState, owner: V1OwnerReference | undefined): Promise<void> {
    await this.#hook()
    if (this.secret) throw new CaSecretConflict('exists already')
    this.writes++
    this.secret = { state, resourceVersion: this.#next(), ...(owner ? { owner } : {}) }
  }

  async replace(state: CaState, basis: CaSecret): Promise<void> {
    await this.#hook()
    if (this.secret?.resourceVersion !== basis.resourceVersion)
      throw new CaSecretConflict('changed since it was read')
    this.writes++
    this.secret = { ...this.secret, state, resourceVersion: this.#next() }
  }

  async #hook(): Promise<void> {
    const hook = this.beforeWrite
    this.beforeWrite = undefined
    await hook?.()
  }
}
