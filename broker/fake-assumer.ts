// Fake Assumer for unit tests: answers each call from a queue of scripted results, counts calls
// and records what was asked, so tests can assert on exactly what would have gone to STS.
import type { Credentials } from '../lib/credentials.ts'
import { StsError, type AssumeRoleInput, type Assumer, type CallerIdentity } from './sts.ts'

/** A result, an error to throw, or a promise the test settles later (to hold a call in flight). */
export type ScriptedAssume = Credentials | StsError | { hang: Promise<Credentials> }

export class FakeAssumer implements Assumer {
  /** Every assumeRole input, in call order. */
  readonly inputs: AssumeRoleInput[] = []
  callerIdentityCalls = 0
  identity: CallerIdentity | StsError = {
    account: '123456789012',
    arn: 'arn:aws:sts::123456789012:assumed-role/broker/i-0123456789abcdef0',
  }
  readonly #script: ScriptedAssume[]
  constructor(script: ScriptedAssume[] = []) {
    this.#script = script
  }
  get calls(): number {
    return this.inputs.length
  }
  push(...results: ScriptedAssume[]): void {
    this.#script.push(...results)
  }
  async assumeRole(input: AssumeRoleInput): Promise<Credentials> {
    this.inputs.push(input)
    const next = this.#script.shift()
    if (next === undefined)
      throw new StsError(
        'transient',
        'NoScript',
        `fake assumer has nothing scripted for ${input.roleArn}`,
      )
    if (next instanceof StsError) throw next
    if ('hang' in next) return next.hang
    return next
  }
  async callerIdentity(): Promise<CallerIdentity> {
    this.callerIdentityCalls++
    if (this.identity instanceof StsError) throw this.identity
    return this.identity
  }
}

/** Credentials numbered `n` (shared with the sidecar's fakes). */
export { fakeCredentials as fakeSession } from '../lib/fake-credentials.ts'
