// An upper bound of the size of the program re2js compiles a pattern to, computed by one pass over
// the pattern's characters before compiling it. re2js itself only refuses programs above ~1.4
// million instructions, and compiling one of those takes about a second; with this bound a
// pattern such as `(?:aaaa…a){1000}` is refused without being compiled.
//
// The pass needs no full parse because it only ever over-counts: every character costs at least
// one instruction, a group three (its captures, or a no-op), `* + ? |` one more each, and `x{n,m}` costs
// m × (cost of x + 1) (RE2 expands a counted repetition into copies). What is not understood is
// counted as literal characters, and a repetition count above RE2's limit of 1000 is counted as
// 1001 so that re2js, not this bound, reports it ("invalid repeat count").

interface Frame {
  /** Cost so far of the group (or the whole pattern). */
  sum: number
  /** Cost of its last atom, which a following quantifier applies to. */
  last: number
}

const REPEAT = /\{(\d+)(,(\d*))?\}/y
/** `(?i)`, `(?-s)`: sets flags and is no atom; a quantifier after it applies to the atom before. */
const FLAGS_ONLY = /\(\?[a-zA-Z-]*\)/y
/** RE2 refuses counts above 1000; the bound counts no more than one over that. */
const MAX_COUNT = 1001
/** A group's two capture instructions, and a no-op when it is empty. */
const GROUP_COST = 3
/** Match, fail and the unanchored-search prefix. */
const PROGRAM_OVERHEAD = 4

/** The running cost, one frame per open group. */
class Cost {
  readonly #stack: Frame[] = [{ sum: 0, last: 0 }]
  get #top(): Frame {
    return this.#stack[this.#stack.length - 1]!
  }
  atom(cost: number): void {
    this.#top.sum += cost
    this.#top.last = cost
  }
  open(): void {
    this.#stack.push({ sum: GROUP_COST, last: 0 })
  }
  close(): void {
    if (this.#stack.length > 1) this.atom(this.#stack.pop()!.sum)
  }
  /** `* + ?`: one split instruction around the last atom. */
  quantify(): void {
    this.#top.sum++
    this.#top.last++
  }
  alternate(): void {
    this.#top.sum++
    this.#top.last = 0
  }
  /** `{n,m}`: the last atom (and a split) copied `count` times. */
  repeat(count: number): void {
    const f = this.#top
    const cost = (f.last + 1) * count
    f.sum += cost - f.last
    f.last = cost
  }
  total(): number {
    while (this.#stack.length > 1) this.close()
    return this.#stack[0]!.sum + PROGRAM_OVERHEAD
  }
}

export function programSizeBound(pattern: string): number {
  const cost = new Cost()
  let i = 0
  while (i < pattern.length) i = step(pattern, i, cost)
  return cost.total()
}

/** Counts the token at `i`; returns the index after it. */
function step(pattern: string, i: number, cost: Cost): number {
  const c = pattern[i]!
  if (c === '\\') {
    const end = escapeEnd(pattern, i)
    // \Q…\E: each quoted character is a literal.
    const literals = pattern[i + 1] === 'Q' ? end - i - 2 : 1
    for (let k = 0; k < literals; k++) cost.atom(1)
    return end
  }
  if (c === '[') {
    cost.atom(1)
    return classEnd(pattern, i)
  }
  const flags = c === '(' ? stickyAt(FLAGS_ONLY, pattern, i) : null
  if (flags) return i + flags[0].length
  const repeat = c === '{' ? stickyAt(REPEAT, pattern, i) : null
  if (repeat) {
    cost.repeat(repeatCount(repeat))
    return i + repeat[0].length
  }
  const special = SINGLE[c]
  if (special) special(cost)
  else cost.atom(1)
  return i + 1
}

/** Characters with a meaning of their own; any other is a literal. */
const SINGLE: Readonly<Record<string, (cost: Cost) => void>> = {
  '(': (cost) => cost.open(),
  ')': (cost) => cost.close(),
  '*': (cost) => cost.quantify(),
  '+': (cost) => cost.quantify(),
  '?': (cost) => cost.quantify(),
  '|': (cost) => cost.alternate(),
}

function stickyAt(re: RegExp, text: string, at: number): RegExpExecArray | null {
  re.lastIndex = at
  return re.exec(text)
}

/** The largest number of copies `{n}`, `{n,}` or `{n,m}` makes, capped at MAX_COUNT. */
function repeatCount(m: RegExpExecArray): number {
  const n = Number(m[1])
  const count = m[2] === undefined ? n : m[3] === '' ? n + 1 : Math.max(n, Number(m[3]))
  return Math.min(Math.max(count, 1), MAX_COUNT)
}

/** Index after the escape sequence at `i`: `\x`, `\p{…}`, `\x{…}`, or `\Q…\E` (to the end). */
function escapeEnd(pattern: string, i: number): number {
  const kind = pattern[i + 1]
  if (kind === 'Q') {
    const e = pattern.indexOf('\\E', i + 2)
    return e < 0 ? pattern.length : e
  }
  if ((kind === 'p' || kind === 'P' || kind === 'x') && pattern[i + 2] === '{') {
    const e = pattern.indexOf('}', i + 3)
    return e < 0 ? pattern.length : e + 1
  }
  return Math.min(i + 2, pattern.length)
}

/** Index after the character class that starts at `i` (`[…]`, `[^…]`, with `[:name:]` inside). */
function classEnd(pattern: string, i: number): number {
  let j = i + 1
  if (pattern[j] === '^') j++
  if (pattern[j] === ']') j++ // a ']' first is a literal
  while (j < pattern.length && pattern[j] !== ']') {
    if (pattern[j] === '\\') j = escapeEnd(pattern, j)
    else if (pattern.startsWith('[:', j) && pattern.indexOf(':]', j + 2) >= 0)
      j = pattern.indexOf(':]', j + 2) + 2
    else j++
  }
  return j + 1
}
