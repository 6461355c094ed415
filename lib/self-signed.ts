// A self-made CA and serving certificates from it, so the injector's webhook needs no
// cert-manager (injector/self-bootstrap.ts keeps the CA in a Secret that every replica shares).
// ECDSA P-256 keeps generation fast (milliseconds) and certificates small.
import { KeyObject, randomBytes, webcrypto } from 'node:crypto'
import type * as X509 from '@peculiar/x509'

export interface PemPair {
  readonly certPem: string
  /** PKCS#8 (`BEGIN PRIVATE KEY`), which node:tls accepts as is. */
  readonly keyPem: string
}

/** How long a certificate lasts: some days from now, or up to an instant (a serving certificate
 * up to its CA's end). */
export type Lifetime = { readonly days: number } | { readonly validUntil: Date }

export type ServingCertOptions = {
  readonly dnsNames: readonly string[]
  readonly ipAddresses?: readonly string[]
} & Lifetime

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const
const DAY_MS = 86_400_000
// Nodes and the API server may run a little behind us; a certificate "not yet valid" for them
// would fail every admission call until their clocks caught up. So a certificate was made
// CLOCK_SKEW_MS after its notBefore.
export const CLOCK_SKEW_MS = 5 * 60_000

let loaded: Promise<typeof X509> | undefined

/**
 * @peculiar/x509 resolves its algorithms through tsyringe, which refuses to load unless a
 * Reflect metadata API exists. Its classes take no constructor arguments, so a minimal
 * WeakMap-backed stand-in is enough; an existing polyfill (reflect-metadata) is left alone.
 */
function loadX509(): Promise<typeof X509> {
  loaded ??= (async () => {
    installReflectMetadata()
    const x509 = await import('@peculiar/x509')
    x509.cryptoProvider.set(webcrypto)
    return x509
  })()
  return loaded
}

type MetadataReflect = {
  getMetadata?: (key: unknown, target: object) => unknown
  getOwnMetadata?: (key: unknown, target: object) => unknown
  defineMetadata?: (key: unknown, value: unknown, target: object) => void
}

function installReflectMetadata(): void {
  const r = Reflect as unknown as MetadataReflect
  if (r.getMetadata) return
  const store = new WeakMap<object, Map<unknown, unknown>>()
  r.getOwnMetadata = (key, target) => store.get(target)?.get(key)
  r.getMetadata = (key, target) => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const own = store.get(t)
      if (own?.has(key)) return own.get(key)
    }
    return undefined
  }
  r.defineMetadata = (key, value, target) => {
    const own = store.get(target) ?? new Map<unknown, unknown>()
    own.set(key, value)
    store.set(target, own)
  }
}

/** A positive 128-bit serial, as RFC 5280 asks (≤ 20 octets, non-negative, unpredictable). */
function randomSerial(): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0]! & 0x7f) | 0x01 // positive, and no leading zero octet to strip
  return bytes.toString('hex')
}

function validity(life: Lifetime): { notBefore: Date; notAfter: Date } {
  const now = Date.now()
  const notAfter = 'validUntil' in life ? life.validUntil : new Date(now + life.days * DAY_MS)
  if (!(notAfter.getTime() > now)) throw new Error('a certificate must end in the future')
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter }
}

function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  // Extractable only so the private key can be exported as PEM for node:tls.
  return webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])
}

function keyToPem(key: webcrypto.CryptoKey): string {
  return KeyObject.from(key).export({ type: 'pkcs8', format: 'pem' }) as string
}

/** Escapes a value for an RFC 4514 distinguished name string. */
function dnValue(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1')
}

/** A CA certificate (CA:true, critical) that may sign certificates and CRLs only. */
export async function makeCa(o: { commonName: string } & Lifetime): Promise<PemPair> {
  const x509 = await loadX509()
  const keys = await newKeys()
  const name = `CN=${dnValue(o.commonName)}`
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: name,
    issuer: name,
    ...validity(o),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { certPem: cert.toString('pem'), keyPem: keyToPem(keys.privateKey) }
}

/** A serving certificate for the given names, signed by `ca`; its CN is the first DNS name. */
export async function issueServingCert(ca: PemPair, o: ServingCertOptions): Promise<PemPair> {
  const first = o.dnsNames[0]
  if (first === undefined) throw new Error('a serving certificate needs at least one DNS name')
  const x509 = await loadX509()
  const caCert = new x509.X509Certificate(ca.certPem)
  const caKey = await webcrypto.subtle.importKey(
    'pkcs8',
    x509.PemConverter.decodeFirst(ca.keyPem),
    EC,
    false,
    ['sign'],
  )
  const keys = await newKeys()
  const names: X509.JsonGeneralName[] = [
    ...o.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(o.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ]
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${dnValue(first)}`,
    issuer: caCert.subject,
    ...validity(o),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  })
  return { certPem: cert.toString('pem'), keyPem: keyToPem(keys.privateKey) }
}

/** A fresh CA and a serving certificate from it, the CA's key dropped: for a one-off server
 * (tests). The injector shares one CA between its replicas instead (injector/self-bootstrap.ts). */
export async function selfSignedBundle(
  o: ServingCertOptions,
): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  const life = 'validUntil' in o ? { validUntil: o.validUntil } : { days: o.days }
  // Not named like the injector's old per-replica CAs (ca-state.ts legacyCasToKeep).
  const ca = await makeCa({ commonName: `iam-sidecar-test-ca-${Date.now()}`, ...life })
  const serving = await issueServingCert(ca, o)
  return { caPem: ca.certPem, ...serving }
}
