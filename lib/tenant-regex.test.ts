import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { RE2JS } from 're2js'
import { programSizeBound } from './regex-size.ts'
import {
  MAX_INPUT_LENGTH,
  MAX_PATTERN_LENGTH,
  MAX_PROGRAM_SIZE,
  RegexSyntaxError,
  compileTenantRegex,
  escapeLiteral,
} from './tenant-regex.ts'

/** Whole-input match, as the policy uses it. */
const whole = (pattern: string) => {
  const re = compileTenantRegex(pattern)
  return { test: (input: string) => re.fullMatch(input) }
}

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

describe('compileTenantRegex agrees with RegExp', () => {
  it('on realistic ARN policies', () => {
    let matches = 0
    for (const pattern of ARN_PATTERNS) {
      const regex = whole(pattern)
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
      const regex = whole(pattern)
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

describe('compileTenantRegex semantics', () => {
  it('matches the whole input only', () => {
    const regex = whole('abc|d')
    assert.equal(regex.test('abc'), true)
    assert.equal(regex.test('d'), true)
    assert.equal(regex.test('xabc'), false)
    assert.equal(regex.test('abcd'), false)
    assert.equal(regex.test('ab'), false)
  })

  it('treats a leading ^ and a trailing $ as no-ops, elsewhere as start/end of input', () => {
    assert.equal(whole('a$').test('a\n'), false) // $ is the end of the text, as in Go
    assert.equal(whole('^abc$').test('abc'), true)
    assert.equal(whole('^^a$$').test('a'), true)
    assert.equal(whole('^a$|^b$').test('b'), true)
    assert.equal(whole('a^b').test('ab'), false)
    assert.equal(whole('a$b').test('ab'), false)
  })

  it('compiles the empty pattern to match only the empty input', () => {
    assert.equal(whole('').test(''), true)
    assert.equal(whole('').test('a'), false)
    assert.equal(whole('()|a').test(''), true)
  })

  it('reads input as code points; . excludes only \\n', () => {
    assert.equal(whole('.').test('😀'), true)
    assert.equal(whole('..').test('😀'), false)
    assert.equal(whole('a.b').test('a😀b'), true)
    assert.equal(whole('[😀-😂]').test('😁'), true)
    assert.equal(whole('.').test('\n'), false)
    assert.equal(whole('.').test('\r'), true)
    assert.equal(whole('[^a]').test('\n'), true)
  })

  it('uses ASCII \\d \\w \\s as RE2 does', () => {
    assert.equal(whole('\\d+').test('0189'), true)
    assert.equal(whole('\\d').test('٣'), false)
    assert.equal(whole('\\w+').test('aZ_9'), true)
    assert.equal(whole('\\W').test('-'), true)
    assert.equal(whole('\\s{5}').test(' \t\n\r\f'), true)
    assert.equal(whole('\\S').test(' '), false)
    assert.equal(whole('[\\d\\s-]+').test('1 2-3'), true)
  })

  it('accepts lazy quantifiers with the same answer', () => {
    assert.equal(whole('a+?b').test('aab'), true)
    assert.equal(whole('a{1,2}?').test('aa'), true)
    assert.equal(whole('a??b').test('b'), true)
    assert.equal(whole('a*?').test('aaa'), true)
  })

  it('expands counted repetition', () => {
    const regex = whole('a{2,4}b{3}c{1,}')
    assert.equal(regex.test('aabbbc'), true)
    assert.equal(regex.test('aaaabbbccc'), true)
    assert.equal(regex.test('abbbc'), false)
    assert.equal(regex.test('aaaaabbbc'), false)
    assert.equal(regex.test('aabbc'), false)
    assert.equal(whole('(ab){0}c').test('c'), true)
  })

  it('never matches an input longer than MAX_INPUT_LENGTH', () => {
    const regex = whole('.*')
    assert.equal(regex.test('a'.repeat(MAX_INPUT_LENGTH)), true)
    assert.equal(regex.test('a'.repeat(MAX_INPUT_LENGTH + 1)), false)
  })
})

describe('compileTenantRegex accepts the RE2 syntax kiam (Go regexp) accepted', () => {
  // Each of these was refused by the old engine (lib/linear-regex.ts), so such a kiam namespace
  // denied every pod. [pattern, an input it matches whole, one it does not]
  const cases: [string, string, string][] = [
    ['(?i)arn:aws:iam::1:role/APP', 'arn:aws:iam::1:role/app', 'arn:aws:iam::1:role/ap'],
    ['(?i:team-A)-web', 'TEAM-a-web', 'team-a-WEB'],
    ['(?s)a.b', 'a\nb', 'ab'],
    ['(?U)a+', 'aa', 'b'],
    ['.*\\bweb\\b.*', 'x/web/y', 'x/webby'],
    ['.*\\Bweb', 'xweb', 'x/web'],
    ['\\Aarn:.*\\z', 'arn:x', 'xarn:x'],
    ['[[:alpha:]]+-[[:digit:]]+', 'web-42', 'web-4x'],
    ['[[:^space:]]+', 'a-b', 'a b'],
    ['\\pL+', 'webé', 'web1'],
    ['\\p{Greek}+', 'αβ', 'ab'],
    ['\\PL+', '123', '1a'],
    ['\\101\\x42\\x{43}', 'ABC', 'abc'],
    ['\\Q.*+\\E', '.*+', 'aaa'],
    ['(?P<team>team-a)/(?<app>web)', 'team-a/web', 'team-b/web'],
    ['a{1000}', 'a'.repeat(1000), 'a'.repeat(999)],
  ]
  for (const [pattern, yes, no] of cases) {
    it(pattern, () => {
      const re = compileTenantRegex(pattern)
      assert.equal(re.fullMatch(yes), true, yes)
      assert.equal(re.fullMatch(no), false, no)
    })
  }

  it('and finds a match anywhere for the unanchored meanings', () => {
    const re = compileTenantRegex('my-application-.*')
    assert.equal(re.find('my-application-user-checkout-db'), true)
    assert.equal(re.find('arn:aws:iam::1:role/my-application-x'), true)
    assert.equal(re.fullMatch('arn:aws:iam::1:role/my-application-x'), false)
    assert.equal(compileTenantRegex('^web$').find('web-2'), false)
  })
})

describe('compileTenantRegex rejects', () => {
  const cases: [string, RegExp][] = [
    ['(a)\\1', /invalid escape sequence: `\\1`/],
    ['\\k<n>', /invalid escape/],
    ['ab(?=c)', /invalid or unsupported Perl syntax|invalid named capture/],
    ['(?!a)', /invalid or unsupported Perl syntax/],
    ['(?<=a)b', /invalid named capture/], // lookbehind: a re2js extension, left off
    ['(?<!a)b', /invalid named capture/],
    ['\\C', /invalid escape/],
    ['a\\', /trailing backslash/],
    ['(a', /missing closing \)/],
    ['a)', /unexpected \)/],
    ['[ab', /missing closing \]/],
    ['[z-a]', /invalid character class range/],
    ['[[:foo:]]', /invalid character class range/],
    ['\\p{Nope}', /invalid character class range/],
    ['*a', /missing argument to repetition operator/],
    ['a**', /invalid nested repetition operator/],
    ['a{1001}', /invalid repeat count/],
    ['(a{100}){100}', /too large|invalid repeat count/],
    ['(?:a{100}){20}', /invalid repeat count/],
    ['a'.repeat(MAX_PATTERN_LENGTH + 1), /longer than 1024/],
    [`(?:${'a'.repeat(1000)}){1000}`, /pattern too large/],
    ['(?:\\pL{1000}){9}\\pL{1000}\\pL{1000}', /pattern too large/],
  ]
  for (const [pattern, message] of cases) {
    it(`${pattern.length > 40 ? `${pattern.slice(0, 40)}…` : pattern}`, () => {
      assert.throws(
        () => compileTenantRegex(pattern),
        (err) => err instanceof RegexSyntaxError && message.test(err.message),
      )
    })
  }

  it('refuses a program too large to compile without compiling it', () => {
    // re2js would accept this (a million instructions) and take about a second compiling it.
    const start = performance.now()
    assert.throws(() => compileTenantRegex(`(?:${'a'.repeat(1000)}){1000}`), /too large/)
    assert.ok(performance.now() - start < 50, `${performance.now() - start} ms`)
  })

  it('but accepts patterns right at the limits', () => {
    assert.equal(whole('a'.repeat(MAX_PATTERN_LENGTH)).test('a'.repeat(1024)), true)
    assert.equal(whole('(?:a{100}){10}').test('a'.repeat(1000)), true)
    assert.equal(whole('(?:a{100}){10}a*').test('a'.repeat(5000)), false) // too long input
    const deep = '('.repeat(100) + 'a' + ')'.repeat(100)
    assert.equal(whole(deep).test('a'), true)
  })
})

describe('programSizeBound', () => {
  /** Random patterns over RE2 syntax that the old engine and a naive counter would get wrong. */
  function randomRe2(random: () => number, depth = 0): string {
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
    const atoms = ['a', '.', '[ab]', '[^a]', '\\pL', '\\p{Greek}', '\\b', '\\A', '[[:alpha:]]']
    atoms.push('\\x41', '\\x{41}', '\\101', '\\Qa.b\\E', '\\Qab', '(?i)', '(?-i)', '^', '$', '[]a]')
    atoms.push('😀', '{', '}', '{1', ',', '(?U)', '\\{2\\}', '[{2}]')
    const groups = ['(', '(?:', '(?P<n>', '(?<m>', '(?i:', '(?is-U:']
    const counts = ['', '', '*', '+', '?', '{2}', '{0,3}', '{3,}', '*?', '{10}', '{30,40}']
    counts.push('{100}', '{1000}', '{0}', '{1,}?', '??')
    const atom = (): string =>
      depth < 3 && random() < 0.25 ? `${pick(groups)}${randomRe2(random, depth + 1)})` : pick(atoms)
    const branch = (): string =>
      Array.from({ length: Math.floor(random() * 6) }, () => atom() + pick(counts)).join('')
    const branches = [branch()]
    while (random() < 0.3) branches.push(branch())
    return branches.join('|')
  }

  it('is never below the size re2js compiles to (20,000 generated patterns)', () => {
    const random = mulberry32(0x5eed)
    let compared = 0
    for (let n = 0; n < 20_000; n++) {
      const pattern = randomRe2(random)
      let size: number
      try {
        size = RE2JS.compile(pattern).programSize()
      } catch {
        continue
      }
      compared++
      assert.ok(programSizeBound(pattern) >= size, `${pattern}: ${size}`)
    }
    assert.ok(compared > 10_000, `only ${compared} compiled`)
  })

  it('is close for plain patterns', () => {
    const p = 'arn:aws:iam::\\d{12}:role/(app|worker)-[a-z]+'
    assert.ok(programSizeBound(p) < 3 * RE2JS.compile(p).programSize())
    assert.ok(programSizeBound('(?:a{30}){30}') < MAX_PROGRAM_SIZE)
  })
})

describe('compileTenantRegex runs in linear time', () => {
  // Backtracking engines take exponential (or high-polynomial) time on these with such inputs.
  // Inputs are at MAX_INPUT_LENGTH: anything longer never matches without being read.
  const tail = 'a'.repeat(MAX_INPUT_LENGTH - 1)
  const cases: [string, string, boolean][] = [
    ['(a+)+$', `${tail}!`, false],
    ['(a|a)*b', `${tail}a`, false],
    ['(a*)*b', `${tail}a`, false],
    ['(.*a){20}', `${tail}!`, false],
    ['(a|aa)+$', `${tail}!`, false],
    ['(\\w+\\s?)+$', `${tail}!`, false],
    ['(a?){50}a{50}', tail.slice(0, 50), true],
    ['(?:(?:.*){100}){10}', tail.slice(0, 1000) + '!', true],
    ['(?:\\pL{100}){10}', `${tail}!`, false], // the slowest shape found (no DFA for \\pL)
  ]
  for (const [pattern, input, expected] of cases) {
    it(`${pattern} on ${input.length} characters`, (t) => {
      const start = performance.now()
      const regex = compileTenantRegex(pattern)
      const matched = regex.fullMatch(input)
      regex.find(input)
      const elapsed = performance.now() - start
      t.diagnostic(`${elapsed.toFixed(1)} ms`)
      assert.equal(matched, expected)
      assert.ok(elapsed < 1000, `${pattern} took ${elapsed.toFixed(0)} ms`)
    })
  }

  it('rejects an over-long input without reading it', () => {
    const start = performance.now()
    const re = compileTenantRegex('(a+)+$')
    assert.equal(re.fullMatch('a'.repeat(10_000) + '!') || re.find('a'.repeat(10_000)), false)
    assert.ok(performance.now() - start < 50)
  })
})

describe('escapeLiteral', () => {
  it('makes any text a pattern that matches exactly it', () => {
    for (const text of ['arn:aws:iam::1:role/a.b+c', '\\Q(x)\\E', '[^$]{2}|*?', 'a\\E.*'])
      assert.equal(compileTenantRegex(escapeLiteral(text)).fullMatch(text), true, text)
    assert.equal(compileTenantRegex(escapeLiteral('a.b')).fullMatch('axb'), false)
  })
})
