// Regular expressions written by tenants (namespace policy annotations), matched by re2js: the
// JavaScript port of RE2/J, which accepts the RE2 syntax of Go's regexp package (what kiam and
// kube2iam compiled their annotations with) and matches in time linear in the input. JavaScript's
// own RegExp backtracks, so a hostile pattern such as `(a+)+$` could stall the shared broker's event
// loop; no tenant text ever reaches it.
//
// re2js bounds time but not size: it accepts programs of up to ~1.4 million instructions, and
// compiling and matching cost grows with the program. So the pattern, its program (bounded before
// compiling, see regex-size.ts, and checked after) and the input are bounded here. Lookbehind (a
// re2js extension that RE2 and Go do not have) is left off. Compiled patterns are memoised.
import { LRUCache } from 'lru-cache'
import { RE2JS } from 're2js'
import { programSizeBound } from './regex-size.ts'

export const MAX_PATTERN_LENGTH = 1024
/** Largest compiled program (instructions); compile and match times grow with it. */
export const MAX_PROGRAM_SIZE = 10_000
/** Longer inputs (in UTF-16 code units) never match; an IAM role ARN is at most 2048. */
export const MAX_INPUT_LENGTH = 2048

export class RegexSyntaxError extends Error {
  override name = 'RegexSyntaxError'
}

export interface TenantRegex {
  readonly source: string
  /** Instructions of the compiled program: what the memo below charges for it. */
  readonly programSize: number
  /** True when the whole input matches, as if the pattern were `^(?:...)$`. */
  fullMatch(input: string): boolean
  /** True when the pattern matches anywhere in the input (Go's regexp.MatchString). */
  find(input: string): boolean
}

const tooLarge = (): RegexSyntaxError =>
  new RegexSyntaxError(`pattern too large (compiles to more than ${MAX_PROGRAM_SIZE} instructions)`)

/** Compiles `pattern`; throws RegexSyntaxError with re2js's reason when it is not valid RE2. */
export function compileTenantRegex(
  pattern: string,
  maxLength: number = MAX_PATTERN_LENGTH,
): TenantRegex {
  if (pattern.length > maxLength)
    throw new RegexSyntaxError(`pattern longer than ${maxLength} characters`)
  if (programSizeBound(pattern) > MAX_PROGRAM_SIZE) throw tooLarge()
  let re: RE2JS
  try {
    re = RE2JS.compile(pattern)
  } catch (err) {
    throw new RegexSyntaxError((err as Error).message)
  }
  if (re.programSize() > MAX_PROGRAM_SIZE) throw tooLarge()
  const bounded = (input: string): boolean => input.length <= MAX_INPUT_LENGTH
  return Object.freeze({
    source: pattern,
    programSize: re.programSize(),
    fullMatch: (input: string) => bounded(input) && re.matches(input),
    find: (input: string) => bounded(input) && re.test(input),
  })
}

// Bounded by the total size of the programs it holds, not only by their number: a thousand
// namespaces with patterns at MAX_PROGRAM_SIZE must not hold ten million instructions.
const compiled = new LRUCache<string, TenantRegex | RegexSyntaxError>({
  max: 1000,
  maxSize: 200_000,
  sizeCalculation: (c) => (c instanceof RegexSyntaxError ? 1 : c.programSize),
})

/** compileTenantRegex, memoised (failures too): returns the error instead of throwing it. */
export function compileMemoised(
  pattern: string,
  maxLength: number = MAX_PATTERN_LENGTH,
): TenantRegex | RegexSyntaxError {
  const key = `${maxLength}\u0000${pattern}`
  let c = compiled.get(key)
  if (c === undefined) {
    try {
      c = compileTenantRegex(pattern, maxLength)
    } catch (err) {
      c = err instanceof RegexSyntaxError ? err : new RegexSyntaxError(String(err))
    }
    compiled.set(key, c)
  }
  return c
}

/** `text` as a pattern that matches exactly it (every RE2 metacharacter escaped). */
export function escapeLiteral(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')
}
