// A small RFC 6902 applier for the only operation the injector emits, `add`, with RFC 6901
// JSON pointers. Strict like the API server: a missing parent, a bad array index or a pointer
// into a scalar throws, so a patch that works here is one the API server would accept.

export interface AddOp {
  readonly op: 'add'
  readonly path: string
  readonly value: unknown
}

export class JsonPatchError extends Error {
  override name = 'JsonPatchError'
}

/** RFC 6901: `""` → [], `/a~1b/~0c` → ['a/b', '~c']. */
export function parsePointer(path: string): string[] {
  if (path === '') return []
  if (!path.startsWith('/'))
    throw new JsonPatchError(`pointer ${JSON.stringify(path)}: must start with /`)
  return path
    .slice(1)
    .split('/')
    .map((s) => {
      if (/~(?![01])/.test(s))
        throw new JsonPatchError(
          `pointer ${JSON.stringify(path)}: bad escape in ${JSON.stringify(s)}`,
        )
      return s.replace(/~1/g, '/').replace(/~0/g, '~')
    })
}

/** Applies `ops` in order to a deep clone of `doc`; `doc` and the ops' values stay untouched. */
export function applyPatch<T>(doc: T, ops: readonly AddOp[]): T {
  let root: unknown = structuredClone(doc)
  for (const op of ops) {
    if (op.op !== 'add') throw new JsonPatchError(`unsupported op ${JSON.stringify(op.op)}`)
    const tokens = parsePointer(op.path)
    const value: unknown = structuredClone(op.value)
    if (tokens.length === 0) {
      root = value
      continue
    }
    addAt(parentOf(root, tokens, op.path), tokens[tokens.length - 1]!, value, op.path)
  }
  return root as T
}

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === 'object' && v !== null
}

/** Walks every token but the last; each step must exist and be an object or an array. */
function parentOf(
  root: unknown,
  tokens: readonly string[],
  path: string,
): Record<string, unknown> | unknown[] {
  let node: unknown = root
  for (const token of tokens.slice(0, -1)) {
    if (!isContainer(node))
      throw new JsonPatchError(`add ${path}: ${JSON.stringify(token)} is inside a scalar`)
    const next: unknown = Array.isArray(node)
      ? node[arrayIndex(node, token, path, false)]
      : Object.hasOwn(node, token)
        ? node[token]
        : undefined
    if (next === undefined)
      throw new JsonPatchError(
        `add ${path}: parent does not exist (missing ${JSON.stringify(token)})`,
      )
    node = next
  }
  if (!isContainer(node)) throw new JsonPatchError(`add ${path}: parent is not an object or array`)
  return node
}

/** A decimal index without leading zeros; `insert` allows `length` (and `-` means it). */
function arrayIndex(arr: readonly unknown[], token: string, path: string, insert: boolean): number {
  if (insert && token === '-') return arr.length
  if (!/^(0|[1-9]\d*)$/.test(token))
    throw new JsonPatchError(`add ${path}: ${JSON.stringify(token)} is not an array index`)
  const i = Number(token)
  if (i > arr.length || (!insert && i === arr.length))
    throw new JsonPatchError(`add ${path}: index ${i} out of bounds (length ${arr.length})`)
  return i
}

function addAt(
  parent: Record<string, unknown> | unknown[],
  token: string,
  value: unknown,
  path: string,
): void {
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, token, path, true), 0, value)
  // defineProperty, not `=`: a `__proto__` key is data, never the prototype.
  else
    Object.defineProperty(parent, token, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    })
}
