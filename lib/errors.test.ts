import { it } from 'node:test'
import assert from 'node:assert/strict'
import { toErrorResponse, unavailable, unauthorized } from './errors.ts'

it('maps an HttpError to its status and body, with Retry-After only when it says when', () => {
  assert.deepEqual(toErrorResponse(unauthorized('X', 'no')), {
    status: 401,
    body: { code: 'X', message: 'no' },
    headers: {},
  })
  const busy = toErrorResponse(unavailable('Busy', 'later', { retryAfterSeconds: 0.2 }))
  assert.equal(busy.status, 503)
  assert.deepEqual(busy.headers, { 'retry-after': '1' })
  assert.equal(toErrorResponse(new Error('secret inside')).body.message, 'internal error')
})
