import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { applyPatch, parsePointer, type AddOp } from './json-patch.ts'

const add = (path: string, value: unknown): AddOp => ({ op: 'add', path, value })

describe('applyPatch (add only)', () => {
  it('unescapes pointers: ~1 is /, ~0 is ~, in that order', () => {
    assert.deepEqual(parsePointer(''), [])
    assert.deepEqual(parsePointer('/a~1b/~0c/~01'), ['a/b', '~c', '~1'])
    assert.deepEqual(parsePointer('/'), [''])
    assert.throws(() => parsePointer('a'), /must start with \//)
    assert.throws(() => parsePointer('/a~2'), /bad escape/)
    assert.throws(() => parsePointer('/a~'), /bad escape/)
  })

  it('adds and replaces object members, with escaped keys', () => {
    const doc = { metadata: { labels: { 'a/b': 'x', 'c~d': 'y' } } }
    const out = applyPatch(doc, [
      add('/metadata/labels/iam-sidecar~1injected', 'true'),
      add('/metadata/labels/c~0d', 'z'),
      add('/metadata/annotations', { k: 'v' }),
    ])
    assert.deepEqual(out, {
      metadata: {
        labels: { 'a/b': 'x', 'c~d': 'z', 'iam-sidecar/injected': 'true' },
        annotations: { k: 'v' },
      },
    })
    assert.deepEqual(doc, { metadata: { labels: { 'a/b': 'x', 'c~d': 'y' } } }, 'input untouched')
  })

  it('inserts into arrays at an index, appends with - or at the length', () => {
    const out = applyPatch({ a: [1, 2] }, [add('/a/0', 0), add('/a/-', 3), add('/a/4', 4)])
    assert.deepEqual(out, { a: [0, 1, 2, 3, 4] })
    assert.deepEqual(applyPatch({ a: [[1]] }, [add('/a/0/-', 2)]), { a: [[1, 2]] })
  })

  it('replaces the whole document for the empty pointer', () => {
    assert.deepEqual(applyPatch({ a: 1 }, [add('', [1])]), [1])
  })

  it('copies values, so later changes to the op do not leak into the result', () => {
    const value = { name: 'x' }
    const out = applyPatch({ a: [] as unknown[] }, [add('/a/-', value)])
    value.name = 'changed'
    assert.deepEqual(out, { a: [{ name: 'x' }] })
  })

  it('throws like the API server on a missing parent, a bad index or a scalar parent', () => {
    assert.throws(() => applyPatch({}, [add('/spec/volumes/-', 1)]), /parent does not exist/)
    assert.throws(() => applyPatch({ a: [1] }, [add('/a/2', 1)]), /out of bounds/)
    assert.throws(() => applyPatch({ a: [1] }, [add('/a/01', 1)]), /not an array index/)
    assert.throws(() => applyPatch({ a: [1] }, [add('/a/x', 1)]), /not an array index/)
    assert.throws(() => applyPatch({ a: [1] }, [add('/a/1/b', 1)]), /out of bounds/)
    assert.throws(() => applyPatch({ a: [{}] }, [add('/a/-/b', 1)]), /not an array index/)
    assert.throws(() => applyPatch({ a: 1 }, [add('/a/b', 1)]), /not an object or array/)
    assert.throws(() => applyPatch({ a: null }, [add('/a/b/c', 1)]), /inside a scalar/)
    const op = { op: 'replace', path: '/a', value: 1 } as unknown as AddOp
    assert.throws(() => applyPatch({ a: 0 }, [op]), /unsupported op/)
  })

  it('treats __proto__ as a plain key', () => {
    const out = applyPatch<Record<string, unknown>>({}, [add('/__proto__', { polluted: true })])
    assert.equal(({} as Record<string, unknown>).polluted, undefined)
    assert.deepEqual(Object.keys(out), ['__proto__'])
    assert.throws(() => applyPatch({}, [add('/constructor/x', 1)]), /parent does not exist/)
  })
})
