// makePooledApiClient against a hand-written fake API server over TLS (it answers every
// TokenReview unauthenticated and counts TLS connections and the bearer tokens it was sent).
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AuthenticationV1Api, KubeConfig } from '@kubernetes/client-node'
import { makePooledApiClient } from './pooled-api-client.ts'
import { selfSignedBundle } from './self-signed.ts'

it('keeps its TLS connections across requests, and applies the kubeconfig token to each', async () => {
  const pki = await selfSignedBundle({
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    days: 1,
  })
  const dir = mkdtempSync(join(tmpdir(), 'pooled-api-client-'))
  const caFile = join(dir, 'ca.pem')
  writeFileSync(caFile, pki.caPem)
  let connections = 0
  const authorizations = new Set<string>()
  const server = createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    authorizations.add(req.headers.authorization ?? '')
    req.resume()
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ kind: 'TokenReview', status: { authenticated: false } }))
    })
  })
  server.on('secureConnection', () => connections++)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  try {
    const { port } = server.address() as { port: number }
    const kc = new KubeConfig()
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `https://127.0.0.1:${port}`, caFile }],
      users: [{ name: 'broker', token: 'fake-broker-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'broker' }],
      currentContext: 'fake',
    })
    const api = makePooledApiClient(kc, AuthenticationV1Api)
    for (let i = 0; i < 50; i++) {
      const res = await api.createTokenReview({ body: { spec: { token: `t${i}` } } })
      assert.equal(res.status?.authenticated, false)
    }
    assert.ok(connections <= 2, `${connections} TLS connections for 50 requests`)
    assert.deepEqual([...authorizations], ['Bearer fake-broker-token'])
  } finally {
    server.closeAllConnections()
    server.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
