// Fake CredentialSource for unit tests: answers from a queue of scripted results.
import type { Credentials } from '../lib/credentials.ts'
import { UpstreamError, type CredentialSource } from './credential-source.ts'

export type Scripted = Credentials | UpstreamError | { hang: Promise<Credentials> }

export class FakeCredentialSource implements CredentialSource {
  calls = 0
  readonly #script: Scripted[]
  #last: Scripted | undefined
  constructor(script: Scripted[] = []) {
    this.#script = script
  }
  push(...results: Scripted[]): void {
    this.#script.push(...results)
  }
  async fetch(): Promise<Credentials> {
    this.calls++
    const next = this.#script.shift() ?? this.#last
    this.#last = next
    if (next === undefined)
      throw new UpstreamError('transient', 'NoScript', 'fake source has nothing scripted')
    if (next instanceof UpstreamError) throw next
    if ('hang' in next) return next.hang
    return next
  }
}

export { fakeCredentials } from '../lib/fake-credentials.ts'
