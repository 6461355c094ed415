import { it } from 'node:test'
import assert from 'node:assert/strict'
import { sessionName, sourceIdentity } from './session-name.ts'

it('session names are valid for STS, readable and unique per pod uid', () => {
  const a = sessionName('team-a', 'web-7d9f-x', 'uid-1')
  assert.match(a, /^team-a\.web-7d9f-x-[0-9a-f]{8}$/)
  assert.notEqual(a, sessionName('team-a', 'web-7d9f-x', 'uid-2'))
  const long = sessionName('n'.repeat(63), 'p'.repeat(253), 'uid')
  assert.ok(long.length <= 64 && long.length >= 2)
  assert.match(long, /^[\w+=,.@-]+$/)
  assert.match(sessionName('a', 'p'.repeat(253), 'u'), /^a\.p+-[0-9a-f]{8}$/)
})

it('source identity is valid and never starts with aws:', () => {
  assert.equal(sourceIdentity('ns', 'sa'), 'ns@sa')
  assert.ok(!sourceIdentity('aws:x', 'y').startsWith('aws:'))
  assert.ok(sourceIdentity('n'.repeat(63), 's'.repeat(253)).length <= 64)
})
