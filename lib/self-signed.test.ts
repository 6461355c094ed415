// The self-made webhook PKI: certificates a real TLS client accepts, and only with our CA.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { createServer, request, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { createSecureContext } from 'node:tls'
import { issueServingCert, makeCa, selfSignedBundle } from './self-signed.ts'

const DNS = 'iam-sidecar-injector.iam-sidecar.svc'

async function serve(pair: { certPem: string; keyPem: string }): Promise<Server> {
  const server = createServer({ cert: pair.certPem, key: pair.keyPem }, (_req, res) =>
    res.end('ok'),
  )
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return server
}

/** GET / with verification on; resolves with the status or rejects with the TLS error. */
function get(server: Server, o: { ca: string; servername?: string }): Promise<number> {
  const { port } = server.address() as AddressInfo
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', ca: o.ca, servername: o.servername, agent: false },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

describe('self-signed webhook certificates', () => {
  it('makes a CA: CA:true, may sign certificates, keys in PKCS#8', async () => {
    const ca = await makeCa({ commonName: 'test-ca', days: 30 })
    const cert = new X509Certificate(ca.certPem)
    assert.equal(cert.ca, true)
    assert.equal(cert.subject, 'CN=test-ca')
    assert.equal(cert.issuer, 'CN=test-ca')
    assert.ok(cert.verify(cert.publicKey), 'self-signed')
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/)
  })

  it('issues a serving certificate that chains to the CA, with its SANs and serverAuth', async () => {
    const ca = await makeCa({ commonName: 'test-ca', days: 30 })
    const pair = await issueServingCert(ca, {
      dnsNames: [DNS, 'localhost'],
      ipAddresses: ['127.0.0.1'],
      days: 30,
    })
    const cert = new X509Certificate(pair.certPem)
    const caCert = new X509Certificate(ca.certPem)
    assert.ok(cert.checkIssued(caCert))
    assert.ok(cert.verify(caCert.publicKey))
    assert.equal(cert.ca, false)
    assert.equal(cert.subject, `CN=${DNS}`)
    assert.equal(cert.subjectAltName, `DNS:${DNS}, DNS:localhost, IP Address:127.0.0.1`)
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1'])
    assert.match(pair.keyPem, /^-----BEGIN PRIVATE KEY-----\n/)
    assert.doesNotThrow(() => createSecureContext({ cert: pair.certPem, key: pair.keyPem }))
  })

  it('back-dates notBefore by five minutes for clock skew and lasts the given days', async () => {
    const before = Date.now()
    const { certPem } = await selfSignedBundle({ dnsNames: [DNS], days: 10 })
    const cert = new X509Certificate(certPem)
    const skew = before - cert.validFromDate.getTime()
    assert.ok(skew >= 4 * 60_000 && skew <= 6 * 60_000, `notBefore ${skew} ms back`)
    const days = (cert.validToDate.getTime() - before) / 86_400_000
    assert.ok(Math.abs(days - 10) < 0.01, `${days} days`)
  })

  it('ends a certificate at the instant given, e.g. a serving certificate with its CA', async () => {
    const validUntil = new Date(Date.now() + 3_600_000)
    const ca = await makeCa({ commonName: 'test-ca', validUntil })
    const pair = await issueServingCert(ca, { dnsNames: [DNS], validUntil })
    for (const pem of [ca.certPem, pair.certPem]) {
      const cert = new X509Certificate(pem)
      // X.509 times have whole seconds.
      assert.equal(cert.validToDate.getTime(), Math.floor(validUntil.getTime() / 1000) * 1000)
    }
    await assert.rejects(
      makeCa({ commonName: 'test-ca', validUntil: new Date(Date.now() - 1) }),
      /must end in the future/,
    )
  })

  it('gives every certificate a different random serial', async () => {
    const ca = await makeCa({ commonName: 'test-ca', days: 1 })
    const serials = await Promise.all(
      [1, 2, 3].map(async () => {
        const { certPem } = await issueServingCert(ca, { dnsNames: [DNS], days: 1 })
        return new X509Certificate(certPem).serialNumber
      }),
    )
    assert.equal(new Set(serials).size, 3)
  })

  it('refuses to issue a serving certificate without a DNS name', async () => {
    const ca = await makeCa({ commonName: 'test-ca', days: 1 })
    await assert.rejects(issueServingCert(ca, { dnsNames: [], days: 1 }), /at least one DNS name/)
  })

  it('serves TLS that a verifying client accepts by DNS name and by IP address', async (t) => {
    const bundle = await selfSignedBundle({ dnsNames: [DNS], ipAddresses: ['127.0.0.1'], days: 1 })
    const server = await serve(bundle)
    t.after(() => server.close())
    assert.equal(await get(server, { ca: bundle.caPem, servername: DNS }), 200)
    assert.equal(await get(server, { ca: bundle.caPem }), 200) // checked against the IP SAN
  })

  it('fails verification for a client that trusts another CA, or asks for another name', async (t) => {
    const bundle = await selfSignedBundle({ dnsNames: [DNS], days: 1 })
    const other = await makeCa({ commonName: 'other-ca', days: 1 })
    const server = await serve(bundle)
    t.after(() => server.close())
    await assert.rejects(get(server, { ca: other.certPem, servername: DNS }), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    })
    await assert.rejects(get(server, { ca: bundle.caPem, servername: 'evil.example' }), {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    })
  })
})
