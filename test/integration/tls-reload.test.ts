// Certificates rotate in place (cert-manager, Secret volume updates): the server must pick up
// the new pair without a restart, and keep the old one when the new pair is broken.
import { after, it } from 'node:test'
import assert from 'node:assert/strict'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:https'
import { connect } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../../lib/log.ts'
import { readTls, reloadOnChange } from '../../lib/tls-reload.ts'
import { useCluster } from '../peers/cluster.ts'

const cluster = await useCluster()
const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-tls-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', ca: [], rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().serialNumber)
      s.end()
    })
    s.on('error', reject)
  })
}

it('reloads a rotated certificate and keeps the old one when the new pair is broken', async () => {
  const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }
  const first = cluster.pki.issueServing('rotating')
  copyFileSync(first.cert, files.certFile)
  copyFileSync(first.key, files.keyFile)
  const lines: string[] = []
  const log = createLogger({ level: 'info', component: 'test', write: (l) => lines.push(l) })
  const server = createServer(readTls(files), (_req, res) => res.end('ok'))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const stop = reloadOnChange(server, files, { log, intervalMs: 50 })
  try {
    const port = (server.address() as { port: number }).port
    const serial1 = await servedSerial(port)
    const second = cluster.pki.issueServing('rotating')
    copyFileSync(second.key, files.keyFile)
    copyFileSync(second.cert, files.certFile)
    let serial2 = serial1
    for (let i = 0; i < 100 && serial2 === serial1; i++) {
      await new Promise((r) => setTimeout(r, 50))
      serial2 = await servedSerial(port)
    }
    assert.notEqual(serial2, serial1, 'the new certificate is served')
    writeFileSync(files.certFile, 'not a certificate')
    await new Promise((r) => setTimeout(r, 400))
    assert.equal(
      await servedSerial(port),
      serial2,
      'a broken pair leaves the last good one in place',
    )
    assert.ok(lines.some((l) => l.includes('TLS certificate reload failed')))
  } finally {
    stop()
    server.close()
  }
})
