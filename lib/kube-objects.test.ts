import { it } from 'node:test'
import assert from 'node:assert/strict'
import { LIST_PAGE_SIZE, listViews } from './kube-objects.ts'

it('lists page by page, viewing each object, with the first page resourceVersion', async () => {
  const asked: { limit: number; _continue?: string }[] = []
  const pages: Record<string, { items: { n: number; big: string }[]; next?: string }> = {
    '': { items: [{ n: 1, big: 'x' }], next: 'a' },
    a: { items: [{ n: 2, big: 'x' }], next: 'b' },
    b: { items: [{ n: 3, big: 'x' }] },
  }
  type Item = { n: number; big: string }
  const list = await listViews<
    Item,
    { items: Item[]; metadata?: { resourceVersion?: string; _continue?: string } }
  >(
    async (page) => {
      asked.push(page)
      const p = pages[page._continue ?? '']!
      return {
        items: p.items,
        metadata: { resourceVersion: page._continue ? 'later' : '7', _continue: p.next },
      }
    },
    (o) => ({ n: o.n, big: '' }),
  )
  assert.deepEqual(
    list.items.map((o) => o.n),
    [1, 2, 3],
  )
  assert.ok(
    list.items.every((o) => o.big === ''),
    'every object is viewed',
  )
  assert.equal(list.metadata?.resourceVersion, '7')
  assert.equal(list.metadata?._continue, undefined)
  assert.deepEqual(
    asked.map((a) => a.limit),
    [LIST_PAGE_SIZE, LIST_PAGE_SIZE, LIST_PAGE_SIZE],
  )
  assert.deepEqual(
    asked.map((a) => a._continue),
    [undefined, 'a', 'b'],
  )
})
