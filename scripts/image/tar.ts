// A small streaming tar writer: ustar headers, with PAX extended headers for what ustar cannot
// hold (paths or link targets over 100 bytes or not ASCII, sizes of 8 GiB and more). Regular files,
// directories and symbolic links only. Every header carries an explicit mode, uid, gid and
// mtime (0 unless given) and no user or group names, and entries are written sorted by path, so
// the same entries always give the same bytes. File contents are streamed from disk in chunks.
import { createReadStream, createWriteStream, readFileSync } from 'node:fs'
import { Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

type Common = { path: string; mode: number; uid?: number; gid?: number; mtime?: number }

/** A regular file: its bytes in memory, or the path of a file on disk and its size. */
export type TarFile = Common & { type: 'file' } & (
    { content: Buffer | string } | { source: string; size: number }
  )
export type TarDir = Common & { type: 'dir' }
export type TarSymlink = Common & { type: 'symlink'; target: string }
export type TarEntry = TarFile | TarDir | TarSymlink

const BLOCK = 512
const USTAR_MAX_SIZE = 0o77777777777
const TYPEFLAG = { file: '0', symlink: '2', dir: '5', pax: 'x' } as const

/** The entry's name in the archive: no leading slash, directories with a trailing one. */
export function tarName(entry: TarEntry): string {
  const bare = entry.path.replace(/^\/+/, '').replace(/\/+$/, '')
  if (bare === '' || bare.split('/').some((part) => part === '' || part === '.' || part === '..'))
    throw new Error(`bad path in tar entry: ${JSON.stringify(entry.path)}`)
  return entry.type === 'dir' ? `${bare}/` : bare
}

const fitsUstar = (text: string): boolean => text.length <= 100 && /^[\x20-\x7e]*$/.test(text)

function octal(header: Buffer, offset: number, width: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`bad tar number ${value}`)
  const digits = value.toString(8).padStart(width - 1, '0')
  if (digits.length > width - 1) throw new Error(`tar number ${value} does not fit`)
  header.write(`${digits}\0`, offset, 'ascii')
}

type Header = {
  name: string
  type: keyof typeof TYPEFLAG
  mode: number
  uid: number
  gid: number
  size: number
  mtime: number
  linkname: string
}

function ustarHeader(h: Header): Buffer {
  const header = Buffer.alloc(BLOCK)
  header.write(h.name, 0, 100, 'utf8')
  octal(header, 100, 8, h.mode & 0o7777)
  octal(header, 108, 8, h.uid)
  octal(header, 116, 8, h.gid)
  octal(header, 124, 12, Math.min(h.size, USTAR_MAX_SIZE))
  octal(header, 136, 12, h.mtime)
  header.write(' '.repeat(8), 148, 'ascii')
  header.write(TYPEFLAG[h.type], 156, 'ascii')
  header.write(h.linkname, 157, 100, 'utf8')
  header.write('ustar\x0000', 257, 'ascii')
  let sum = 0
  for (const byte of header) sum += byte
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii')
  return header
}

/** One PAX record, "<length> <key>=<value>\n", where the length counts the whole record. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  const bodyBytes = Buffer.byteLength(body)
  let length = bodyBytes + 1
  while (String(length).length + bodyBytes !== length) length = String(length).length + bodyBytes
  return `${length}${body}`
}

const padding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK)

/** The header blocks of one entry: a PAX header first when ustar cannot hold its fields. */
function headerBlocks(h: Header): Buffer[] {
  let records = ''
  if (!fitsUstar(h.name)) records += paxRecord('path', h.name)
  if (!fitsUstar(h.linkname)) records += paxRecord('linkpath', h.linkname)
  if (h.size > USTAR_MAX_SIZE) records += paxRecord('size', String(h.size))
  const main = ustarHeader({
    ...h,
    name: fitsUstar(h.name) ? h.name : h.name.replace(/[^\x20-\x7e]/g, '_').slice(-100),
    linkname: fitsUstar(h.linkname) ? h.linkname : '',
  })
  if (records === '') return [main]
  const data = Buffer.from(records, 'utf8')
  const paxName = `PaxHeaders/${h.name.replace(/[^\x20-\x7e]/g, '_')}`.slice(0, 100)
  const pax = ustarHeader({ ...h, name: paxName, type: 'pax', size: data.length, linkname: '' })
  return [pax, data, padding(data.length), main]
}

function header(entry: TarEntry, size: number): Header {
  return {
    name: tarName(entry),
    type: entry.type,
    mode: entry.mode,
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    size,
    mtime: entry.mtime ?? 0,
    linkname: entry.type === 'symlink' ? entry.target : '',
  }
}

async function* fileChunks(source: string, size: number): AsyncGenerator<Buffer> {
  let read = 0
  for await (const chunk of createReadStream(source, { highWaterMark: 1 << 20 })) {
    read += (chunk as Buffer).length
    if (read > size) break
    yield chunk as Buffer
  }
  if (read !== size) throw new Error(`${source} changed size while being archived`)
}

/** Entries sorted by their name in the archive; a name given twice is an error. */
export function sortEntries<T extends TarEntry>(entries: readonly T[]): T[] {
  const named = entries.map((entry) => ({ entry, name: tarName(entry) }))
  named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (let i = 1; i < named.length; i++) {
    if (named[i]!.name === named[i - 1]!.name)
      throw new Error(`duplicate tar entry ${named[i]!.name}`)
  }
  return named.map((n) => n.entry)
}

const SMALL_FILE = 1 << 20

/** A whole entry as buffers, its file read at once; undefined for a big file, to be streamed. */
function wholeEntry(entry: TarEntry): Buffer[] | undefined {
  if (entry.type !== 'file') return headerBlocks(header(entry, 0))
  if ('source' in entry && entry.size > SMALL_FILE) return undefined
  const data =
    'source' in entry
      ? readFileSync(entry.source)
      : Buffer.isBuffer(entry.content)
        ? entry.content
        : Buffer.from(entry.content)
  if ('source' in entry && data.length !== entry.size)
    throw new Error(`${entry.source} changed size while being archived`)
  return [...headerBlocks(header(entry, data.length)), data, padding(data.length)]
}

/**
 * The archive's bytes, entries sorted by path, ending with the two zero blocks. Small entries
 * are gathered into chunks of about 1 MiB; big files are streamed from disk.
 */
export async function* tarStream(entries: readonly TarEntry[]): AsyncGenerator<Buffer> {
  let batch: Buffer[] = []
  let batched = 0
  for (const entry of sortEntries(entries)) {
    const whole = wholeEntry(entry)
    if (whole) {
      batch.push(...whole)
      batched += whole.reduce((sum, b) => sum + b.length, 0)
      if (batched < SMALL_FILE) continue
    }
    if (batch.length > 0) yield Buffer.concat(batch)
    ;[batch, batched] = [[], 0]
    if (whole || entry.type !== 'file' || !('source' in entry)) continue
    yield* headerBlocks(header(entry, entry.size))
    yield* fileChunks(entry.source, entry.size)
    yield padding(entry.size)
  }
  yield Buffer.concat([...batch, Buffer.alloc(2 * BLOCK)])
}

/** Writes the archive to a file (by path) or into a stream, which is ended. */
export async function writeTar(
  entries: readonly TarEntry[],
  out: string | Writable,
): Promise<void> {
  const dest = typeof out === 'string' ? createWriteStream(out) : out
  await pipeline(Readable.from(tarStream(entries), { objectMode: false }), dest)
}
