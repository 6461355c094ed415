import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import {
  MAX_INPUT_LENGTH,
  MAX_NESTING,
  MAX_PATTERN_LENGTH,
  RegexSyntaxError,
  compileAnchored,
} from './linear-regex.ts'

/** What JavaScript's backtracking RegExp says, anchored the same way. */
const native = (pattern: string, input: string) => new RegExp(`^(?:${pattern})$`).test(input)

/** Tiny deterministic PRNG (mulberry32): the generated corpus is the same on every run. */
function mulberry32(seed: number) {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ARN_PATTERNS = [
  'arn:aws:iam::123456789012:role/team-a-.*',
  'arn:aws:iam::\\d{12}:role/(app|worker)-[a-z]+',
  '.*',
  '^arn:aws:iam::111122223333:role/ns1/.*$',
  'arn:aws:iam::[0-9]{12}:role/[\\w+=,.@-]+',
  'arn:aws:iam::(111122223333|444455556666):role/.+',
  'arn:aws:iam::\\d+:role/ns1/(?:[^/]+)',
  'arn:aws:iam::123456789012:role\\/ns1\\/[^/]*',
  'arn:aws:iam::123456789012:role/app-?\\d{1,3}',
  '.*:role/kube-system/.*',
  'arn:aws:iam::123456789012:role/(a|b|c)*',
  'arn:aws:iam::\\d{12}:role/team-a/(app|worker)(-\\w+)?',
  'arn:aws:iam::123456789012:role/team-a/app',
  'arn:aws:iam::123456789012:role/team-a/app\\.v2',
  'arn:aws:iam::\\d{12}:role/(?:ns1|ns2)/.{1,64}',
  '[a-z]+:[a-z]+:[a-z]+::\\d{12}:role/\\S+',
  '',
]

const ARN_INPUTS = [
  '',
  'arn:aws:iam::123456789012:role/team-a-app',
  'arn:aws:iam::123456789012:role/team-a-',
  'arn:aws:iam::123456789012:role/team-b-app',
  'arn:aws:iam::123456789012:role/app-xyz',
  'arn:aws:iam::123456789012:role/worker-abc',
  'arn:aws:iam::123456789012:role/worker-ABC',
  'arn:aws:iam::12345678901:role/app-xyz',
  'arn:aws:iam::111122223333:role/ns1/reader',
  'arn:aws:iam::111122223333:role/ns1/deep/path',
  'arn:aws:iam::444455556666:role/ns2/x',
  'arn:aws:iam::555555555555:role/ns1/reader',
  'xarn:aws:iam::111122223333:role/ns1/reader',
  'arn:aws:iam::111122223333:role/ns1/reader\n',
  'arn:aws:iam::123456789012:role/app-7',
  'arn:aws:iam::123456789012:role/app42',
  'arn:aws:iam::123456789012:role/app-1234',
  'arn:aws:iam::123456789012:role/kube-system/dns',
  'arn:aws:iam::123456789012:role/abcab',
  'arn:aws:iam::123456789012:role/team-a/app',
  'arn:aws:iam::123456789012:role/team-a/app-v2_x',
  'arn:aws:iam::123456789012:role/team-a/appXv2',
  'arn:aws:iam::123456789012:role/team-a/app.v2',
  'arn:aws:iam::123456789012:role/user+name=x,y.z@corp-1',
]

/** A random pattern over a small alphabet, built so that both engines accept it. */
function randomPattern(random: () => number, depth = 0): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const atom = (): string => {
    if (depth < 3 && random() < 0.2) {
      const open = pick(['(', '(?:'])
      return `${open}${randomPattern(random, depth + 1)})`
    }
    return pick([
      'a',
      'b',
      'a',
      'b',
      '.',
      '[ab]',
      '[^a]',
      '[a-b1]',
      '\\d',
      '\\w',
      '\\.',
      '\\-',
      '1',
    ])
  }
  const piece = (): string => {
    if (random() < 0.05) return pick(['^', '$'])
    return atom() + pick(['', '', '', '*', '+', '?', '{2}', '{1,3}', '{0,}', '*?', '{0,2}'])
  }
  const branch = (): string => Array.from({ length: Math.floor(random() * 4) }, piece).join('')
  const branches = [branch()]
  while (random() < 0.25) branches.push(branch())
  return branches.join('|')
}

function randomInput(random: () => number): string {
  const alphabet = 'aab1.-\n'
  const length = Math.floor(random() * 7)
  return Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')
}

describe('compileAnchored agrees with RegExp', () => {
  it('on realistic ARN policies', () => {
    let matches = 0
    for (const pattern of ARN_PATTERNS) {
      const regex = compileAnchored(pattern)
      assert.equal(regex.source, pattern)
      for (const input of ARN_INPUTS) {
        const expected = native(pattern, input)
        assert.equal(regex.test(input), expected, `${pattern} on ${JSON.stringify(input)}`)
        if (expected) matches++
      }
    }
    assert.ok(matches > 40, `only ${matches} matches: the corpus is too weak`)
  })

  it('on 600 generated patterns × 12 inputs', () => {
    const random = mulberry32(0x1a2b3c4d)
    let compared = 0
    let matches = 0
    for (let n = 0; n < 600; n++) {
      const pattern = randomPattern(random)
      try {
        native(pattern, '')
      } catch {
        continue // RegExp itself rejects it
      }
      const regex = compileAnchored(pattern)
      for (let k = 0; k < 12; k++) {
        const input = randomInput(random)
        const expected = native(pattern, input)
        assert.equal(regex.test(input), expected, `${pattern} on ${JSON.stringify(input)}`)
        compared++
        if (expected) matches++
      }
    }
    assert.ok(compared > 6000, `only ${compared} comparisons`)
    assert.ok(matches > compared / 10, `only ${matches} of ${compared} matched`)
  })
})

describe('compileAnchored semantics', () => {
  it('matches the whole input only', () => {
    const regex = compileAnchored('abc|d')
    assert.equal(regex.test('abc'), true)
    assert.equal(regex.test('d'), true)
    assert.equal(regex.test('xabc'), false)
    assert.equal(regex.test('abcd'), false)
    assert.equal(regex.test('ab'), false)
  })

  it('treats a leading ^ and a trailing $ as no-ops, elsewhere as start/end of input', () => {
    assert.equal(compileAnchored('^abc$').test('abc'), true)
    assert.equal(compileAnchored('^^a$$').test('a'), true)
    assert.equal(compileAnchored('^a$|^b$').test('b'), true)
    assert.equal(compileAnchored('a^b').test('ab'), false)
    assert.equal(compileAnchored('a$b').test('ab'), false)
  })

  it('compiles the empty pattern to match only the empty input', () => {
    assert.equal(compileAnchored('').test(''), true)
    assert.equal(compileAnchored('').test('a'), false)
    assert.equal(compileAnchored('()|a').test(''), true)
  })

  it('reads input as code points; . excludes only \\n', () => {
    assert.equal(compileAnchored('.').test('😀'), true)
    assert.equal(compileAnchored('..').test('😀'), false)
    assert.equal(compileAnchored('a.b').test('a😀b'), true)
    assert.equal(compileAnchored('[😀-😂]').test('😁'), true)
    assert.equal(compileAnchored('.').test('\n'), false)
    assert.equal(compileAnchored('.').test('\r'), true)
    assert.equal(compileAnchored('[^a]').test('\n'), true)
  })

  it('uses ASCII \\d \\w \\s as RE2 does', () => {
    assert.equal(compileAnchored('\\d+').test('0189'), true)
    assert.equal(compileAnchored('\\d').test('٣'), false)
    assert.equal(compileAnchored('\\w+').test('aZ_9'), true)
    assert.equal(compileAnchored('\\W').test('-'), true)
    assert.equal(compileAnchored('\\s{5}').test(' \t\n\r\f'), true)
    assert.equal(compileAnchored('\\S').test(' '), false)
    assert.equal(compileAnchored('[\\d\\s-]+').test('1 2-3'), true)
  })

  it('accepts lazy quantifiers with the same answer', () => {
    assert.equal(compileAnchored('a+?b').test('aab'), true)
    assert.equal(compileAnchored('a{1,2}?').test('aa'), true)
    assert.equal(compileAnchored('a??b').test('b'), true)
    assert.equal(compileAnchored('a*?').test('aaa'), true)
  })

  it('expands counted repetition', () => {
    const regex = compileAnchored('a{2,4}b{3}c{1,}')
    assert.equal(regex.test('aabbbc'), true)
    assert.equal(regex.test('aaaabbbccc'), true)
    assert.equal(regex.test('abbbc'), false)
    assert.equal(regex.test('aaaaabbbc'), false)
    assert.equal(regex.test('aabbc'), false)
    assert.equal(compileAnchored('(ab){0}c').test('c'), true)
  })

  it('never matches an input longer than MAX_INPUT_LENGTH', () => {
    const regex = compileAnchored('.*')
    assert.equal(regex.test('a'.repeat(MAX_INPUT_LENGTH)), true)
    assert.equal(regex.test('a'.repeat(MAX_INPUT_LENGTH + 1)), false)
  })
})

describe('compileAnchored rejects', () => {
  const cases: [string, RegExp][] = [
    ['(a)\\1', /unsupported backreference \\1 at position 3/],
    ['\\k<n>', /named backreference/],
    ['ab(?=c)', /unsupported lookahead \(\?= at position 2/],
    ['(?!a)', /lookahead/],
    ['(?<=a)b', /lookbehind/],
    ['(?<!a)b', /lookbehind/],
    ['(?<n>a)', /named group/],
    ['(?P<n>a)', /named group/],
    ['(?i)a', /group flags/],
    ['\\bfoo', /word boundary/],
    ['\\p{L}', /unicode property/],
    ['\\x41', /hex escape/],
    ['\\q', /unsupported escape \\q/],
    ['a\\', /trailing \\ at position 1/],
    ['(a', /missing \) at position 0/],
    ['((a)', /missing \)/],
    ['a)', /unmatched \) at position 1/],
    ['[ab', /missing \]/],
    ['ab]', /unescaped \]/],
    ['a}', /unescaped \}/],
    ['[]a]', /empty character class/],
    ['[z-a]', /start after end/],
    ['[a-\\d]', /class escape/],
    ['[[:alpha:]]', /unescaped \[/],
    ['*a', /missing argument to repetition operator \*/],
    ['a|+', /missing argument/],
    ['(?:*)', /missing argument/],
    ['a**', /nested quantifier/],
    ['a*+', /nested quantifier/],
    ['a{2}{3}', /nested quantifier/],
    ['a*??', /nested quantifier/],
    ['^*', /quantifier on an anchor/],
    ['a{', /malformed repetition/],
    ['a{x}', /malformed repetition/],
    ['a{,3}', /malformed repetition/],
    ['a{3,2}', /max < min/],
    ['a{101}', /above 100/],
    ['a{1,101}', /above 100/],
    ['a'.repeat(MAX_PATTERN_LENGTH + 1), /longer than 1024/],
    ['(a{100}){100}', /pattern too large/],
    ['((a{100}){100}){100}', /pattern too large/],
    ['((((){100}){100}){100}){100}', /pattern too large/],
    ['('.repeat(MAX_NESTING + 1) + ')'.repeat(MAX_NESTING + 1), /nested deeper than 100/],
  ]
  for (const [pattern, message] of cases) {
    it(`${pattern.length > 40 ? `${pattern.slice(0, 40)}…` : pattern}`, () => {
      assert.throws(
        () => compileAnchored(pattern),
        (err) => err instanceof RegexSyntaxError && message.test(err.message),
      )
    })
  }

  it('but accepts patterns right at the limits', () => {
    assert.equal(compileAnchored('a'.repeat(MAX_PATTERN_LENGTH)).test('a'.repeat(1024)), true)
    assert.equal(compileAnchored('(a{100}){50}').test('a'.repeat(5000)), false) // too long input
    assert.equal(compileAnchored('(a{100}){20}').test('a'.repeat(2000)), true)
    const deep = '('.repeat(MAX_NESTING) + 'a' + ')'.repeat(MAX_NESTING)
    assert.equal(compileAnchored(deep).test('a'), true)
  })
})

describe('compileAnchored runs in linear time', () => {
  // Backtracking engines take exponential (or high-polynomial) time on these with such inputs.
  // Inputs are at MAX_INPUT_LENGTH: anything longer never matches without being read.
  const tail = 'a'.repeat(MAX_INPUT_LENGTH - 1)
  const cases: [string, string][] = [
    ['(a+)+$', `${tail}!`],
    ['(a|a)*b', `${tail}a`],
    ['(a*)*b', `${tail}a`],
    ['(.*a){20}', `${tail}!`],
    ['(a|aa)+$', `${tail}!`],
    ['(\\w+\\s?)+$', `${tail}!`],
    ['(a?){50}a{50}', tail.slice(0, 50)],
    ['((.*){100}){33}', tail.slice(0, 1000) + '!'], // ~10,000 instructions: the largest program
  ]
  for (const [pattern, input] of cases) {
    it(`${pattern} on ${input.length} characters`, (t) => {
      const start = performance.now()
      const regex = compileAnchored(pattern)
      const matched = regex.test(input)
      const elapsed = performance.now() - start
      t.diagnostic(`${elapsed.toFixed(1)} ms`)
      assert.equal(matched, pattern === '(a?){50}a{50}' || pattern === '((.*){100}){33}')
      assert.ok(elapsed < 1000, `${pattern} took ${elapsed.toFixed(0)} ms`)
    })
  }

  it('rejects an over-long input without reading it', () => {
    const start = performance.now()
    assert.equal(compileAnchored('(a+)+$').test('a'.repeat(10_000) + '!'), false)
    assert.ok(performance.now() - start < 50)
  })
})
