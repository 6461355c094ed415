import { it } from 'node:test'
import assert from 'node:assert/strict'
import { Semaphore } from './semaphore.ts'

it('runs at most `size` operations at once, in arrival order, and frees slots on failure', async () => {
  const sem = new Semaphore(2)
  let running = 0
  let peak = 0
  const order: number[] = []
  const job = (i: number) =>
    sem.run(async () => {
      running++
      peak = Math.max(peak, running)
      await new Promise((r) => setTimeout(r, 5))
      order.push(i)
      running--
      if (i === 1) throw new Error('boom')
      return i
    })
  const results = await Promise.allSettled([0, 1, 2, 3, 4].map(job))
  assert.equal(peak, 2)
  assert.deepEqual(order, [0, 1, 2, 3, 4])
  assert.equal(results.filter((r) => r.status === 'rejected').length, 1)
  assert.equal(await sem.run(async () => 'free again'), 'free again')
})
