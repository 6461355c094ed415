import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createLogger } from './log.ts'

describe('logger', () => {
  it('writes JSON lines at or above the level, with child fields', () => {
    const lines: string[] = []
    const log = createLogger({
      level: 'info',
      component: 'test',
      write: (l) => lines.push(l),
      now: () => new Date(0),
    })
    log.debug('hidden')
    log.child({ pod: 'ns/p' }).info('hello', { n: 1 })
    assert.equal(lines.length, 1)
    assert.deepEqual(JSON.parse(lines[0]!), {
      time: '1970-01-01T00:00:00.000Z',
      level: 'info',
      component: 'test',
      msg: 'hello',
      pod: 'ns/p',
      n: 1,
    })
  })

  it('redacts fields whose names look like secrets, at any depth', () => {
    const lines: string[] = []
    const log = createLogger({ level: 'debug', component: 'test', write: (l) => lines.push(l) })
    log.info('x', {
      authorization: 'Bearer abc',
      nested: { SecretAccessKey: 'k', sessionToken: 't', ok: 'visible' },
    })
    assert.ok(!/abc|"k"|"t"/.test(lines[0]!), lines[0])
    assert.match(lines[0]!, /visible/)
  })
})
