// TLS from certificate and key files, reloaded when they change (cert-manager and Secret volume
// updates swap the files in place). A broken pair is logged and the previous one kept.
import { watchFile, unwatchFile, readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import type { Server } from 'node:https'
import type { Logger } from './log.ts'

export interface TlsFiles {
  readonly certFile: string
  readonly keyFile: string
}

export function readTls(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const pair = { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) }
  createSecureContext(pair) // throws on a mismatched or malformed pair
  return pair
}

/** Polls both files (a Secret volume update is a symlink swap, which watchers miss) and reloads. */
export function reloadOnChange(
  server: Server,
  files: TlsFiles,
  o: { log: Logger; intervalMs: number },
): () => void {
  const reload = (): void => {
    try {
      server.setSecureContext(readTls(files))
      o.log.info('TLS certificate reloaded', { certFile: files.certFile })
    } catch (err) {
      o.log.error('TLS certificate reload failed; keeping the previous one', {
        certFile: files.certFile,
        error: err as Error,
      })
    }
  }
  const opts = { interval: o.intervalMs, persistent: false }
  watchFile(files.certFile, opts, reload)
  watchFile(files.keyFile, opts, reload)
  return () => {
    unwatchFile(files.certFile, reload)
    unwatchFile(files.keyFile, reload)
  }
}
