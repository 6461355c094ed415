import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { isBaseRoleArn, parseRoleArn, resolveRole } from './role.ts'

const BASE = 'arn:aws:iam::123456789012:role/'

describe('resolveRole', () => {
  it('keeps full ARNs, including paths, other partitions and other accounts', () => {
    for (const arn of [
      'arn:aws:iam::123456789012:role/app',
      'arn:aws:iam::999999999999:role/team/a/app',
      'arn:aws-cn:iam::123456789012:role/x',
      'arn:aws-us-gov:iam::123456789012:role/x.y@z',
    ]) {
      const r = resolveRole(arn, BASE)
      assert.ok(r.ok, arn)
      assert.equal(r.role.arn, arn)
    }
    const r = resolveRole('arn:aws:iam::999999999999:role/team/app', undefined)
    assert.deepEqual(r, {
      ok: true,
      role: {
        arn: 'arn:aws:iam::999999999999:role/team/app',
        account: '999999999999',
        name: 'app',
      },
    })
  })

  it('expands short names and paths with the base ARN', () => {
    assert.deepEqual(resolveRole('app', BASE), {
      ok: true,
      role: { arn: `${BASE}app`, account: '123456789012', name: 'app' },
    })
    const withPath = resolveRole('team-a/app', BASE)
    assert.ok(
      withPath.ok && withPath.role.arn === `${BASE}team-a/app` && withPath.role.name === 'app',
    )
  })

  it('refuses malformed values with a reason that quotes (and cuts) them', () => {
    const cases = [
      '',
      'a b',
      'arn:aws:s3:::bucket',
      'arn:aws:iam::12:role/x',
      'arn:aws:iam::123456789012:user/x',
      '../etc',
      'x'.repeat(65),
      'role\nInjected',
    ]
    for (const v of cases) {
      const r = resolveRole(v, BASE)
      assert.equal(r.ok, false, JSON.stringify(v))
    }
    const long = resolveRole('arn:' + 'x'.repeat(5000), BASE)
    assert.ok(!long.ok && long.reason.length < 250)
    const noBase = resolveRole('app', undefined)
    assert.ok(!noBase.ok && /no base role ARN/.test(noBase.reason))
  })

  it('validates base role ARNs and parses role ARNs', () => {
    assert.ok(isBaseRoleArn(BASE))
    assert.ok(isBaseRoleArn('arn:aws:iam::123456789012:role/k8s/'))
    assert.ok(!isBaseRoleArn('arn:aws:iam::123456789012:role'))
    assert.equal(parseRoleArn('arn:aws:iam::123456789012:role/a/b/c')?.name, 'c')
  })
})
