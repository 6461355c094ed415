import { it } from 'node:test'
import assert from 'node:assert/strict'
import { Semaphore, SemaphoreFullError } from './semaphore.ts'

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

it('with maxWaiting, refuses at once past that many waiters, and queues again once one is let in', async () => {
  const sem = new Semaphore(1, { maxWaiting: 2 })
  const gates: (() => void)[] = []
  const started: number[] = []
  const job = (i: number) =>
    sem.run(async () => {
      started.push(i)
      await new Promise<void>((r) => gates.push(r))
      return i
    })
  const running = job(0)
  const waiting = [job(1), job(2)]
  assert.equal(sem.waiting, 2)
  let ran = false
  await assert.rejects(
    sem.run(async () => (ran = true)),
    (err: unknown) => err instanceof SemaphoreFullError && err.waiting === 2,
  )
  assert.equal(ran, false, 'the refused operation never ran')
  assert.equal(sem.waiting, 2)
  gates.shift()!()
  assert.equal(await running, 0)
  assert.equal(sem.waiting, 1, 'job 1 got the slot')
  const third = job(3) // a place is free again
  assert.equal(sem.waiting, 2)
  for (const expected of [1, 2, 3]) {
    while (gates.length === 0) await new Promise((r) => setImmediate(r))
    gates.shift()!()
    assert.equal(await [...waiting, third][expected - 1], expected)
  }
  assert.deepEqual(started, [0, 1, 2, 3])
})

it('refuses a bad maxWaiting', () => {
  assert.throws(() => new Semaphore(1, { maxWaiting: -1 }), RangeError)
})

it('lets priority waiters in before earlier ones, and counts them against maxWaiting', async () => {
  const sem = new Semaphore(1, { maxWaiting: 3 })
  const order: string[] = []
  let release: () => void = () => {}
  const first = sem.run(async () => {
    order.push('first')
    await new Promise<void>((r) => (release = r))
  })
  const job = (name: string, priority = false) =>
    sem.run(async () => void order.push(name), { priority })
  const all = [job('a'), job('b'), job('known', true)]
  await assert.rejects(job('late-known', true), SemaphoreFullError)
  release()
  await Promise.all([first, ...all])
  assert.deepEqual(order, ['first', 'known', 'a', 'b'])
})
