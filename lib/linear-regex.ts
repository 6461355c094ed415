// Linear-time regular expressions for tenant-written role policies (`iam-sidecar/permitted`,
// kiam's `iam.amazonaws.com/permitted`). JavaScript's RegExp backtracks, so a hostile pattern such
// as `(a+)+$` can take exponential time on the shared broker's event loop. This module instead
// parses an RE2-style subset into an AST, compiles it to a small NFA program and simulates all
// threads in lock step (Thompson/Pike VM, as RE2 and Go's regexp do): O(input × program) time for
// every pattern, with the pattern, the compiled program and the input all bounded.
//
// Supported: literals, `.` (any code point but \n), escapes of ASCII punctuation (`\.` `\/` `\-`
// ...), `\d \D \w \W \s \S` (ASCII, as in RE2), `\t \n \r \f \v`, classes `[a-z0-9_-]`, `[^...]`,
// groups `(...)` and `(?:...)`, alternation `|`, quantifiers `* + ? {n} {n,} {n,m}` (n, m ≤ 100;
// a lazy suffix `?` is accepted and ignored), and `^` / `$` (start / end of input; no multiline).
// Everything else (backreferences, lookaround, named groups, flags, \b, \p{...}) is rejected.
// Input and pattern are read as Unicode code points.

export const MAX_PATTERN_LENGTH = 1024
/** Largest compiled program; `{n,m}` copies its operand, so this bounds the expansion. */
export const MAX_PROGRAM_SIZE = 10_000
/** Largest n or m in `{n}`, `{n,}`, `{n,m}`. */
export const MAX_REPEAT = 100
/** Deepest group nesting; bounds the parser's and compiler's recursion. */
export const MAX_NESTING = 100
/** Longer inputs (in UTF-16 code units) never match; an IAM role ARN is at most 2048. */
export const MAX_INPUT_LENGTH = 2048

export class RegexSyntaxError extends Error {
  override name = 'RegexSyntaxError'
}

export interface LinearRegex {
  readonly source: string
  /** Full match: true when the whole input matches, as if the pattern were `^(?:...)$`. */
  test(input: string): boolean
}

/** Parses and compiles `pattern`; throws RegexSyntaxError for anything outside the subset. */
export function compileAnchored(pattern: string): LinearRegex {
  if (pattern.length > MAX_PATTERN_LENGTH)
    throw new RegexSyntaxError(`pattern longer than ${MAX_PATTERN_LENGTH} characters`)
  const program = compile(new Parser(pattern).parse())
  const machine = new Machine(program)
  return Object.freeze({ source: pattern, test: (input: string) => machine.run(input) })
}

// ---------------------------------------------------------------------------------------------
// Character sets: sorted, disjoint, inclusive code point ranges [lo0, hi0, lo1, hi1, ...].

type Ranges = readonly number[]

const MAX_CODE_POINT = 0x10ffff
const NEWLINE = 0x0a
const DIGITS: Ranges = [0x30, 0x39]
const WORD: Ranges = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a]
const SPACE: Ranges = [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20] // RE2's \s: [\t\n\f\r ]
const ANY_BUT_NEWLINE: Ranges = [0, NEWLINE - 1, NEWLINE + 1, MAX_CODE_POINT]

/** Sorts and merges possibly overlapping ranges. */
function normalize(ranges: Ranges): number[] {
  const pairs: [number, number][] = []
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!])
  pairs.sort((a, b) => a[0] - b[0])
  const out: number[] = []
  for (const [lo, hi] of pairs) {
    const last = out.length - 1
    if (last > 0 && lo <= out[last]! + 1) out[last] = Math.max(out[last]!, hi)
    else out.push(lo, hi)
  }
  return out
}

/** The complement of normalized ranges within [0, MAX_CODE_POINT]. */
function negate(ranges: Ranges): number[] {
  const out: number[] = []
  let next = 0
  for (let i = 0; i < ranges.length; i += 2) {
    if (ranges[i]! > next) out.push(next, ranges[i]! - 1)
    next = ranges[i + 1]! + 1
  }
  if (next <= MAX_CODE_POINT) out.push(next, MAX_CODE_POINT)
  return out
}

/** Binary search over normalized ranges. */
function inRanges(ranges: Ranges, c: number): boolean {
  let lo = 0
  let hi = ranges.length / 2 - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (c < ranges[2 * mid]!) hi = mid - 1
    else if (c > ranges[2 * mid + 1]!) lo = mid + 1
    else return true
  }
  return false
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent over code points; only group nesting recurses, and it is bounded.

type Node =
  | { readonly kind: 'empty' }
  | { readonly kind: 'set'; readonly ranges: Ranges }
  | { readonly kind: 'assert'; readonly at: 'begin' | 'end' }
  | { readonly kind: 'concat'; readonly items: readonly Node[] }
  | { readonly kind: 'alt'; readonly items: readonly Node[] }
  | { readonly kind: 'repeat'; readonly item: Node; readonly min: number; readonly max: number }

interface Quantifier {
  readonly min: number
  readonly max: number // Infinity when unbounded
}

const EMPTY: Node = { kind: 'empty' }
const literal = (c: number): Node => ({ kind: 'set', ranges: [c, c] })

/** Escapes with a named reason for rejecting them. */
const UNSUPPORTED_ESCAPES: Readonly<Record<string, string>> = {
  b: 'word boundary \\b',
  B: 'word boundary \\B',
  A: 'anchor \\A (use ^)',
  z: 'anchor \\z (use $)',
  Z: 'anchor \\Z (use $)',
  k: 'named backreference \\k',
  p: 'unicode property escape \\p',
  P: 'unicode property escape \\P',
  x: 'hex escape \\x',
  u: 'unicode escape \\u',
  c: 'control escape \\c',
  Q: 'quoting \\Q...\\E',
}

/** Escapes that stand for a set of characters. */
const CLASS_ESCAPES: Readonly<Record<string, Ranges>> = {
  d: DIGITS,
  D: negate(DIGITS),
  w: WORD,
  W: negate(WORD),
  s: SPACE,
  S: negate(SPACE),
}

const CONTROL_ESCAPES: Readonly<Record<string, number>> = {
  t: 0x09,
  n: 0x0a,
  v: 0x0b,
  f: 0x0c,
  r: 0x0d,
}

const isDigit = (ch: string | undefined): boolean => ch !== undefined && ch >= '0' && ch <= '9'
const isAlphanumeric = (ch: string): boolean => /^[0-9A-Za-z]$/.test(ch)
/** Printable ASCII other than letters and digits: `\` plus one of these is that literal. */
const isPunctuation = (ch: string): boolean => /^[!-~]$/.test(ch) && !isAlphanumeric(ch)

class Parser {
  private readonly chars: string[]
  private pos = 0

  constructor(pattern: string) {
    this.chars = Array.from(pattern) // code points
  }

  parse(): Node {
    const node = this.parseAlternation(0)
    if (this.pos < this.chars.length) throw this.error('unmatched )') // the only way to stop early
    return node
  }

  private peek(offset = 0): string | undefined {
    return this.chars[this.pos + offset]
  }

  private error(what: string, at = this.pos): RegexSyntaxError {
    return new RegexSyntaxError(`${what} at position ${at}`)
  }

  private parseAlternation(depth: number): Node {
    const items = [this.parseConcat(depth)]
    while (this.peek() === '|') {
      this.pos++
      items.push(this.parseConcat(depth))
    }
    return items.length === 1 ? items[0]! : { kind: 'alt', items }
  }

  private parseConcat(depth: number): Node {
    const items: Node[] = []
    for (let ch = this.peek(); ch !== undefined && ch !== '|' && ch !== ')'; ch = this.peek())
      items.push(this.parseQuantified(depth))
    if (items.length === 0) return EMPTY
    return items.length === 1 ? items[0]! : { kind: 'concat', items }
  }

  private parseQuantified(depth: number): Node {
    const start = this.pos
    const anchor = this.peek() === '^' || this.peek() === '$' // `(?:^)*` is fine, `^*` is not
    const item = this.parseAtom(depth)
    const quantifier = this.parseQuantifier()
    if (quantifier === undefined) return item
    if (anchor) throw this.error('quantifier on an anchor', start)
    if (this.peek() === '?') this.pos++ // lazy: same answer for a boolean full match
    if (this.startsQuantifier()) throw this.error('nested quantifier')
    return { kind: 'repeat', item, ...quantifier }
  }

  private startsQuantifier(): boolean {
    const ch = this.peek()
    return ch === '*' || ch === '+' || ch === '?' || ch === '{'
  }

  private parseQuantifier(): Quantifier | undefined {
    const ch = this.peek()
    if (ch === '{') return this.parseBraces()
    const quantifier =
      ch === '*' ? { min: 0, max: Infinity } : ch === '+' ? { min: 1, max: Infinity } : undefined
    if (ch === '?') return (this.pos++, { min: 0, max: 1 })
    if (quantifier !== undefined) this.pos++
    return quantifier
  }

  /** `{n}`, `{n,}` or `{n,m}`; a `{` that starts none of them is an error (write `\{`). */
  private parseBraces(): Quantifier {
    const start = this.pos++
    const min = this.parseNumber(start)
    let max = min
    if (this.peek() === ',') {
      this.pos++
      max = this.peek() === '}' ? Infinity : this.parseNumber(start)
    }
    if (this.peek() !== '}') throw this.error('malformed repetition {n,m} (write \\{ for {)', start)
    this.pos++
    if (max < min) throw this.error(`repetition {${min},${max}} with max < min`, start)
    return { min, max }
  }

  private parseNumber(start: number): number {
    let digits = ''
    while (isDigit(this.peek())) digits += this.chars[this.pos++]
    if (digits === '') throw this.error('malformed repetition {n,m} (write \\{ for {)', start)
    const n = Number(digits)
    if (n > MAX_REPEAT) throw this.error(`repetition count above ${MAX_REPEAT}`, start)
    return n
  }

  private parseAtom(depth: number): Node {
    const ch = this.peek()!
    switch (ch) {
      case '(':
        return this.parseGroup(depth)
      case '[':
        return { kind: 'set', ranges: this.parseClass() }
      case '\\':
        return { kind: 'set', ranges: this.parseEscape() }
      case '.':
      case '^':
      case '$':
        this.pos++
        if (ch === '.') return { kind: 'set', ranges: ANY_BUT_NEWLINE }
        return { kind: 'assert', at: ch === '^' ? 'begin' : 'end' }
      default:
        this.rejectMetaCharacter(ch)
        this.pos++
        return literal(ch.codePointAt(0)!)
    }
  }

  /** A character that cannot start an atom; the parser only meets `)` and `|` elsewhere. */
  private rejectMetaCharacter(ch: string): void {
    if (ch === '*' || ch === '+' || ch === '?' || ch === '{')
      throw this.error(`missing argument to repetition operator ${ch}`)
    if (ch === '}' || ch === ']') throw this.error(`unescaped ${ch} (write \\${ch})`)
  }

  private parseGroup(depth: number): Node {
    const start = this.pos++
    if (this.peek() === '?') this.parseGroupFlags(start)
    if (depth + 1 > MAX_NESTING) throw this.error(`groups nested deeper than ${MAX_NESTING}`, start)
    const inner = this.parseAlternation(depth + 1)
    if (this.peek() !== ')') throw this.error('missing )', start)
    this.pos++
    return inner
  }

  /** After `(?`: only `(?:` is supported; name what the other forms are. */
  private parseGroupFlags(start: number): void {
    const next = this.peek(1)
    const after = this.peek(2)
    if (next === ':') {
      this.pos += 2
      return
    }
    if (next === '=' || next === '!') throw this.error(`unsupported lookahead (?${next}`, start)
    if (next === '<' && (after === '=' || after === '!'))
      throw this.error(`unsupported lookbehind (?<${after}`, start)
    if (next === '<' || next === 'P') throw this.error('unsupported named group', start)
    throw this.error('unsupported group flags (?...)', start)
  }

  /** `\x` outside or inside a class: the set of characters it stands for. */
  private parseEscape(): Ranges {
    const start = this.pos++
    const ch = this.chars[this.pos++]
    if (ch === undefined) throw this.error('trailing \\', start)
    if (isPunctuation(ch)) return [ch.charCodeAt(0), ch.charCodeAt(0)]
    const set = CLASS_ESCAPES[ch]
    if (set !== undefined) return set
    const control = CONTROL_ESCAPES[ch]
    if (control !== undefined) return [control, control]
    if (isDigit(ch)) throw this.error(`unsupported backreference \\${ch}`, start)
    throw this.error(`unsupported ${UNSUPPORTED_ESCAPES[ch] ?? `escape \\${ch}`}`, start)
  }

  /** `[...]` or `[^...]`; returns normalized ranges. */
  private parseClass(): Ranges {
    const start = this.pos++
    const negated = this.peek() === '^'
    if (negated) this.pos++
    if (this.peek() === ']') throw this.error('empty character class (write \\] for ])', start)
    const ranges: number[] = []
    while (this.peek() !== ']') {
      if (this.peek() === undefined) throw this.error('missing ]', start)
      ranges.push(...this.parseClassItem())
    }
    this.pos++
    const set = normalize(ranges)
    return negated ? negate(set) : set
  }

  /** One character, escape or range `a-z` inside a class. */
  private parseClassItem(): Ranges {
    const start = this.pos
    const lo = this.parseClassAtom()
    if (this.peek() !== '-' || this.peek(1) === ']' || this.peek(1) === undefined) return lo
    this.pos++ // '-'
    const hi = this.parseClassAtom()
    if (lo.length !== 2 || lo[0] !== lo[1] || hi.length !== 2 || hi[0] !== hi[1])
      throw this.error('invalid range: an end is a class escape', start)
    if (lo[0]! > hi[0]!) throw this.error('invalid range: start after end', start)
    return [lo[0]!, hi[0]!]
  }

  private parseClassAtom(): Ranges {
    const ch = this.peek()!
    if (ch === '\\') return this.parseEscape()
    if (ch === '[') throw this.error('unescaped [ in a class (write \\[)')
    this.pos++
    const c = ch.codePointAt(0)!
    return [c, c]
  }
}

// ---------------------------------------------------------------------------------------------
// Compiler: AST → program. `char`, `any` and `set` consume one code point; `split` forks; `jmp`
// goes; `assert` passes only at the start/end of the input; `match` (always the last instruction)
// accepts.

type Inst =
  | { readonly op: 'char'; readonly c: number }
  | { readonly op: 'any' } // any code point but \n
  | { readonly op: 'set'; readonly ranges: Ranges }
  | { readonly op: 'split'; x: number; y: number }
  | { readonly op: 'jmp'; x: number }
  | { readonly op: 'assert'; readonly at: 'begin' | 'end' }
  | { readonly op: 'match' }

const tooLarge = (): RegexSyntaxError =>
  new RegexSyntaxError(`pattern too large (compiles to more than ${MAX_PROGRAM_SIZE} instructions)`)

function compile(root: Node): readonly Inst[] {
  const compiler = new Compiler()
  compiler.node(root)
  compiler.emit({ op: 'match' })
  return compiler.program
}

class Compiler {
  readonly program: Inst[] = []
  /** Nodes visited; `((){100}){100}` emits nothing, so the program size alone bounds no work. */
  private visits = 0

  emit(inst: Inst): number {
    if (this.program.length >= MAX_PROGRAM_SIZE) throw tooLarge()
    return this.program.push(inst) - 1
  }

  node(node: Node): void {
    if (++this.visits > MAX_PROGRAM_SIZE) throw tooLarge()
    switch (node.kind) {
      case 'empty':
        return
      case 'set':
        this.set(node.ranges)
        return
      case 'assert':
        this.emit({ op: 'assert', at: node.at })
        return
      case 'concat':
        for (const item of node.items) this.node(item)
        return
      case 'alt':
        this.alternation(node.items)
        return
      case 'repeat':
        this.repeat(node.item, node.min, node.max)
    }
  }

  private set(ranges: Ranges): void {
    if (ranges === ANY_BUT_NEWLINE) this.emit({ op: 'any' })
    else if (ranges.length === 2 && ranges[0] === ranges[1])
      this.emit({ op: 'char', c: ranges[0]! })
    else this.emit({ op: 'set', ranges })
  }

  /** `split L1 next; L1: a; jmp end; next: split L2 next'; ...; last: z; end:` */
  private alternation(items: readonly Node[]): void {
    const jumps: { x: number }[] = []
    items.forEach((item, i) => {
      if (i === items.length - 1) return this.node(item)
      const split = { op: 'split' as const, x: 0, y: 0 }
      split.x = this.emit(split) + 1
      this.node(item)
      const jmp = { op: 'jmp' as const, x: 0 }
      this.emit(jmp)
      jumps.push(jmp)
      split.y = this.program.length
    })
    for (const jmp of jumps) jmp.x = this.program.length
  }

  /** `min` copies, then either a loop (`max` = ∞) or `max - min` nested optional copies. */
  private repeat(item: Node, min: number, max: number): void {
    for (let i = 0; i < min; i++) this.node(item)
    if (max === Infinity) return this.star(item)
    const exits: { y: number }[] = []
    for (let i = min; i < max; i++) {
      const split = { op: 'split' as const, x: 0, y: 0 }
      split.x = this.emit(split) + 1
      exits.push(split)
      this.node(item)
    }
    for (const split of exits) split.y = this.program.length
  }

  /** `L: split body out; body; jmp L; out:` */
  private star(item: Node): void {
    const split = { op: 'split' as const, x: 0, y: 0 }
    const loop = this.emit(split)
    split.x = loop + 1
    this.node(item)
    this.emit({ op: 'jmp', x: loop })
    split.y = this.program.length
  }
}

// ---------------------------------------------------------------------------------------------
// Machine: simulates every thread of the program in lock step over the input's code points.
// Each step visits each instruction at most once, so a run costs O(input length × program size)
// whatever the pattern, and nothing recurses on the input. The program is flattened into typed
// arrays first, so the inner loops touch no objects.

const CHAR = 0
const ANY = 1
const SET = 2
const SPLIT = 3
const JMP = 4
const BEGIN = 5
const END = 6
const MATCH = 7
const OPCODES = { char: CHAR, any: ANY, set: SET, split: SPLIT, jmp: JMP, match: MATCH } as const

class Machine {
  /** Opcode of each instruction. */
  private readonly op: Uint8Array
  /** CHAR: the code point; SET: index into `sets`; SPLIT, JMP: first target. */
  private readonly x: Int32Array
  /** SPLIT: second target. */
  private readonly y: Int32Array
  private readonly sets: Ranges[] = []
  // Scratch space, reused across runs: `run` is synchronous, so no two runs overlap.
  /** Threads (consuming instructions and MATCH) alive before / after the current step. */
  private current: Int32Array
  private next: Int32Array
  private currentSize = 0
  private nextSize = 0
  /** `visited[i] === generation` when instruction i is already in `next`: dedupes each step. */
  private readonly visited: Uint32Array
  private generation = 0
  /** A closure pushes at most two targets per instruction it visits. */
  private readonly stack: Int32Array

  constructor(program: readonly Inst[]) {
    const n = program.length
    this.op = new Uint8Array(n)
    this.x = new Int32Array(n)
    this.y = new Int32Array(n)
    program.forEach((inst, i) => this.assemble(inst, i))
    this.current = new Int32Array(n)
    this.next = new Int32Array(n)
    this.visited = new Uint32Array(n)
    this.stack = new Int32Array(2 * n + 1)
  }

  private assemble(inst: Inst, i: number): void {
    this.op[i] = inst.op === 'assert' ? (inst.at === 'begin' ? BEGIN : END) : OPCODES[inst.op]
    if (inst.op === 'char') this.x[i] = inst.c
    if (inst.op === 'set') this.x[i] = this.sets.push(inst.ranges) - 1
    if (inst.op === 'split' || inst.op === 'jmp') this.x[i] = inst.x
    if (inst.op === 'split') this.y[i] = inst.y
  }

  run(input: string): boolean {
    if (input.length > MAX_INPUT_LENGTH) return false
    this.startNext()
    this.follow(0, true, input.length === 0)
    this.swap()
    let pos = 0
    while (pos < input.length && this.currentSize > 0) {
      const c = input.codePointAt(pos)!
      pos += c > 0xffff ? 2 : 1
      this.step(c, pos === input.length)
    }
    // MATCH is the last instruction; it is only reachable in the closure taken at the end.
    return pos === input.length && this.visited[this.op.length - 1] === this.generation
  }

  /** Advances every thread that accepts `c`; `atEnd` when `c` was the input's last. */
  private step(c: number, atEnd: boolean): void {
    this.startNext()
    const { current, currentSize } = this
    for (let k = 0; k < currentSize; k++) {
      const i = current[k]!
      if (this.accepts(i, c)) this.follow(i + 1, false, atEnd)
    }
    this.swap()
  }

  private accepts(i: number, c: number): boolean {
    const op = this.op[i]
    if (op === ANY) return c !== NEWLINE
    if (op === CHAR) return this.x[i] === c
    return op === SET && inRanges(this.sets[this.x[i]!]!, c)
  }

  /** Adds to `next` the threads reachable from `pc` without consuming input. */
  private follow(pc: number, atStart: boolean, atEnd: boolean): void {
    const { stack, visited, generation, op, x, y } = this
    let top = 0
    stack[top++] = pc
    while (top > 0) {
      const i = stack[--top]!
      if (visited[i] === generation) continue
      visited[i] = generation
      switch (op[i]) {
        case SPLIT:
          stack[top++] = y[i]!
          stack[top++] = x[i]!
          break
        case JMP:
          stack[top++] = x[i]!
          break
        case BEGIN:
        case END:
          if (op[i] === BEGIN ? atStart : atEnd) stack[top++] = i + 1
          break
        default: // CHAR, ANY, SET, MATCH: a thread for the next step (or the final check)
          this.next[this.nextSize++] = i
      }
    }
  }

  /** Empties `next`; a fresh generation forgets every earlier visit in O(1). */
  private startNext(): void {
    this.nextSize = 0
    if (++this.generation === 0xffffffff) {
      this.visited.fill(0)
      this.generation = 1
    }
  }

  private swap(): void {
    const current = this.current
    this.current = this.next
    this.currentSize = this.nextSize
    this.next = current
  }
}
