import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DEFAULT_POLICY_OPTIONS, checkPolicy, type PolicyOptions } from './policy.ts'
import { anchoredRewrite, type LegacyPermittedMatch } from './kiam-permitted.ts'
import { globPattern } from './kube2iam-allowed-roles.ts'
import { compileTenantRegex } from './tenant-regex.ts'

const BASE = 'arn:aws:iam::123456789012:role/'

/** The verdict for a role written `asWritten` (a short name gets BASE) in a namespace. */
function verdict(
  annotations: Record<string, string>,
  asWritten: string,
  o: Partial<PolicyOptions> = {},
  base: string | null = BASE, // null: no base ARN known (undefined would take the default)
) {
  const baseRoleArn = base ?? undefined
  const arn = asWritten.startsWith('arn:') ? asWritten : BASE + asWritten
  return checkPolicy(
    { namespace: 'team-a', annotations, role: { arn, asWritten }, baseRoleArn },
    { ...DEFAULT_POLICY_OPTIONS, ...o },
  )
}
const code = (v: ReturnType<typeof verdict>) => (v.permitted ? 'permitted' : v.code)
const kiam = (pattern: string) => ({ 'iam.amazonaws.com/permitted': pattern })
const kube2iam = (list: string) => ({ 'iam.amazonaws.com/allowed-roles': list })
const restricted = (format: 'glob' | 'regexp' = 'glob') => ({
  namespaceRestrictions: true,
  namespaceRestrictionFormat: format,
})

describe("kiam's iam.amazonaws.com/permitted", () => {
  const v3 = { legacyPermittedMatch: 'kiam-v3' as LegacyPermittedMatch }
  const v4u = { legacyPermittedMatch: 'kiam-v4-unanchored' as LegacyPermittedMatch }

  it('a kiam v3 namespace: refused anchored (kiam v4), permitted with kiam-v3', () => {
    const ns = kiam('my-application-.*')
    const role = 'my-application-user-checkout-db'
    const strict = verdict(ns, role)
    assert.equal(code(strict), 'RoleNotPermitted')
    assert.deepEqual(verdict(ns, role, v3), {
      permitted: true,
      source: 'iam.amazonaws.com/permitted (kiam-v3)',
    })
    // Unanchored means anywhere in what the pod wrote, as kiam v3 did.
    assert.equal(code(verdict(ns, 'team/my-application-x', v3)), 'permitted')
    assert.equal(code(verdict(ns, 'my-app-x', v3)), 'RoleNotPermitted')
  })

  it('kiam-v3 matches the role as written; kiam-v4-unanchored the full ARN', () => {
    // `^` anchors to the start of what is matched, which tells the two meanings apart.
    assert.equal(code(verdict(kiam('^web'), 'web-2', v3)), 'permitted')
    assert.equal(code(verdict(kiam('^web'), 'web-2', v4u)), 'RoleNotPermitted')
    assert.equal(code(verdict(kiam(`^${BASE}web`), 'web-2', v3)), 'RoleNotPermitted')
    assert.equal(code(verdict(kiam(`^${BASE}web`), 'web-2', v4u)), 'permitted')
    // A role written as a full ARN is matched as that ARN in every meaning.
    assert.equal(code(verdict(kiam(`^${BASE}web`), `${BASE}web-2`, v3)), 'permitted')
  })

  it('never applies the legacy meanings to iam-sidecar/permitted', () => {
    const ns = { 'iam-sidecar/permitted': 'my-application-.*' }
    for (const o of [v3, v4u])
      assert.equal(code(verdict(ns, 'my-application-user-checkout-db', o)), 'RoleNotPermitted')
  })

  it('an empty annotation permits nothing in any meaning (kiam: "(empty)")', () => {
    for (const o of [{}, v3, v4u]) {
      const v = verdict(kiam(''), 'web', o)
      assert.equal(code(v), 'RoleNotPermitted')
    }
    assert.match((verdict(kiam(''), 'web', v3) as { reason: string }).reason, /is empty/)
  })

  it('says which meaning refused, with the role as written', () => {
    const v = verdict(kiam('^api'), 'web', v3)
    assert.ok(!v.permitted)
    assert.match(v.reason, /does not match role "web" as written, kiam-v3\)$/)
  })

  it('suggests the anchored full-ARN pattern that keeps the role permitted', () => {
    const role = {
      arn: `${BASE}my-application-user-checkout-db`,
      asWritten: 'my-application-user-checkout-db',
    }
    assert.equal(anchoredRewrite('my-application-.*', role), `${BASE}my-application-.*`)
    assert.equal(anchoredRewrite('^my-application-', role), `${BASE}my-application-.*`)
    const billing = { arn: `${BASE}billing-api`, asWritten: 'billing-api' }
    assert.equal(anchoredRewrite('checkout|billing', billing), `${BASE}(?:checkout|billing).*`)
    const fallback = anchoredRewrite('user-checkout', role)
    assert.ok(compileTenantRegex(fallback).fullMatch(role.arn), fallback)
    assert.ok(!compileTenantRegex(fallback).fullMatch(`${BASE}my-application-user-checkout-dbx`))
  })
})

describe("kube2iam's iam.amazonaws.com/allowed-roles", () => {
  it('is ignored without --namespace-restrictions', () => {
    assert.equal(code(verdict(kube2iam('["web"]'), 'web')), 'NamespaceHasNoPolicy')
    assert.equal(code(verdict(kube2iam('["web"]'), 'web', restricted())), 'permitted')
  })

  it('globs: entries without arn: get the base ARN; * is the only wildcard and crosses /', () => {
    const ns = kube2iam('["team-a-*", "shared.reader", "arn:aws:iam::444455556666:role/x-*"]')
    const o = restricted()
    assert.deepEqual(verdict(ns, 'team-a-web', o), {
      permitted: true,
      source: 'iam.amazonaws.com/allowed-roles entry "team-a-*" (glob)',
    })
    assert.equal(code(verdict(ns, 'team-a-x/admin', o)), 'permitted')
    assert.equal(code(verdict(ns, 'team-a-', o)), 'permitted')
    assert.equal(code(verdict(ns, 'shared.reader', o)), 'permitted')
    assert.equal(code(verdict(ns, 'sharedXreader', o)), 'RoleNotPermitted') // . is literal
    assert.equal(code(verdict(ns, 'shared.reader-2', o)), 'RoleNotPermitted') // whole ARN
    assert.equal(code(verdict(ns, 'Team-a-web', o)), 'RoleNotPermitted') // case-sensitive
    assert.equal(code(verdict(ns, 'arn:aws:iam::444455556666:role/x-1', o)), 'permitted')
    assert.equal(
      code(verdict(ns, 'arn:aws:iam::444455556666:role/team-a-1', o)),
      'RoleNotPermitted',
    )
    assert.equal(code(verdict(kube2iam('["web?"]'), 'webs', o)), 'RoleNotPermitted') // ? literal
    assert.equal(code(verdict(kube2iam('["*"]'), 'anything/at/all', o)), 'permitted')
    assert.equal(code(verdict(kube2iam('["a*a"]'), 'a', o)), 'RoleNotPermitted')
  })

  it('keeps entries that start with arn: in any case, as kube2iam (and then compares exactly)', () => {
    const o = restricted()
    assert.equal(
      code(verdict(kube2iam(`["ARN:aws:iam::123456789012:role/web"]`), 'web', o)),
      'RoleNotPermitted',
    )
  })

  it('regexps: unanchored, as Go regexp.MatchString', () => {
    const o = restricted('regexp')
    const ns = kube2iam('["team-a/.*", "reader"]')
    assert.equal(code(verdict(ns, 'team-a/x/y', o)), 'permitted')
    assert.equal(code(verdict(ns, 'reader-admin', o)), 'permitted') // the substring
    assert.equal(code(verdict(ns, 'writer', o)), 'RoleNotPermitted')
    // The base ARN comes first, so an entry's flags apply from there on.
    assert.equal(code(verdict(kube2iam('["(?i)READER$"]'), 'reader', o)), 'permitted')
    assert.equal(code(verdict(kube2iam('["(?i)READER$"]'), 'reader-2', o)), 'RoleNotPermitted')
    assert.equal(code(verdict(kube2iam(`["${BASE}(?i)READER$"]`), 'reader', o)), 'permitted')
  })

  it('refuses bad annotations with InvalidNamespacePolicy and a reason, never a crash', () => {
    const o = restricted()
    const cases: [string, RegExp][] = [
      ['["web"', /not JSON/],
      ['web', /not JSON/],
      ['{"a":1}', /not a JSON list of strings/],
      ['["web", 1]', /not a JSON list of strings/],
      ['null', /not a JSON list of strings/],
      [JSON.stringify(Array.from({ length: 101 }, (_, i) => `r${i}`)), /more than 100 entries/],
      [JSON.stringify(['x'.repeat(20_000)]), /longer than 16384/],
      [JSON.stringify(['web', 'y'.repeat(1100)]), /entry "y+…": entry longer than 1024/],
      ['['.repeat(5000) + ']'.repeat(5000), /not a JSON list of strings/],
    ]
    for (const [raw, why] of cases) {
      const v = verdict(kube2iam(raw), 'web', o)
      assert.ok(!v.permitted && v.code === 'InvalidNamespacePolicy', raw.slice(0, 30))
      assert.match(
        v.reason,
        /^the iam\.amazonaws\.com\/allowed-roles annotation of namespace team-a is not valid: /,
      )
      assert.match(v.reason, why)
      assert.ok(v.reason.length < 400, v.reason)
    }
    const bad = verdict(kube2iam('["web", "(unclosed"]'), 'web', restricted('regexp'))
    assert.ok(!bad.permitted && bad.code === 'InvalidNamespacePolicy')
    assert.match(bad.reason, /entry "\(unclosed": error parsing regexp: missing closing \)/)
  })

  it('an empty annotation or list permits nothing', () => {
    assert.equal(code(verdict(kube2iam(''), 'web', restricted())), 'RoleNotPermitted')
    assert.equal(code(verdict(kube2iam('[]'), 'web', restricted())), 'RoleNotPermitted')
  })

  it('without a base ARN, short entries are left to the broker (provisional refusal)', () => {
    const ns = kube2iam(`["web", "${BASE}api"]`)
    const v = verdict(ns, `${BASE}web`, restricted(), null)
    assert.ok(!v.permitted && v.provisional === true)
    assert.equal(code(verdict(ns, `${BASE}api`, restricted(), null)), 'permitted')
    const full = verdict(kube2iam(`["${BASE}api"]`), `${BASE}web`, restricted(), null)
    assert.ok(!full.permitted && full.provisional === undefined)
  })

  it('turns a glob into escaped literals and (?s:.*)', () => {
    assert.equal(globPattern('a.b*c+'), 'a\\.b(?s:.*)c\\+')
  })

  it('answers hostile lists in bounded time', () => {
    const hostile = [
      JSON.stringify(Array.from({ length: 100 }, () => '*a'.repeat(500))),
      JSON.stringify(Array.from({ length: 100 }, (_, i) => `(?:\\pL{100}){10}${i}`)),
    ]
    for (const [i, raw] of hostile.entries()) {
      const start = performance.now()
      const v = verdict(kube2iam(raw), 'a'.repeat(64), restricted(i === 0 ? 'glob' : 'regexp'))
      const ms = performance.now() - start
      assert.ok(!v.permitted || v.permitted, 'a verdict')
      assert.ok(ms < 5000, `${ms} ms`)
    }
  })
})

describe('precedence', () => {
  const all = {
    'iam-sidecar/permitted': `${BASE}ours`,
    'iam.amazonaws.com/permitted': `${BASE}kiams`,
    'iam.amazonaws.com/allowed-roles': '["kube2iams"]',
  }
  it('iam-sidecar/permitted, then kiam, then kube2iam (with restrictions), then the default', () => {
    const o = restricted()
    assert.equal(code(verdict(all, 'ours', o)), 'permitted')
    assert.equal(code(verdict(all, 'kiams', o)), 'RoleNotPermitted')
    const { 'iam-sidecar/permitted': _ours, ...noOurs } = all
    assert.equal(code(verdict(noOurs, 'kiams', o)), 'permitted')
    assert.equal(code(verdict(noOurs, 'kube2iams', o)), 'RoleNotPermitted')
    assert.equal(code(verdict(kube2iam('["kube2iams"]'), 'kube2iams', o)), 'permitted')
    assert.equal(code(verdict({}, 'x', { ...o, defaultPolicy: 'allow' })), 'permitted')
    assert.equal(code(verdict({}, 'x', o)), 'NamespaceHasNoPolicy')
  })
})
