// Test PKI made with the system openssl: one CA that signs the apiserver's serving cert and any
// webhook/broker serving certs a test needs (IP SAN 127.0.0.1), plus the ServiceAccount signing
// key. Generated per control plane into its temp folder; never committed.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface CertFiles {
  readonly cert: string
  readonly key: string
}

export interface TestPki {
  readonly dir: string
  readonly caCert: string
  readonly caKey: string
  readonly saKey: string
  readonly saPub: string
  /**
   * Issues a serving certificate for 127.0.0.1/localhost (and extra DNS names and IP addresses)
   * signed by the CA.
   */
  issueServing(name: string, dnsNames?: readonly string[], ips?: readonly string[]): CertFiles
  /** Issues a client certificate (CN = user, O = groups), e.g. a kubelet's system:node:NAME. */
  issueClient(name: string, user: string, groups?: readonly string[]): CertFiles
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

export function createPki(dir: string): TestPki {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=iam-sidecar-test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  ])
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048'])
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'])
  return openPki(dir)
}

/** A handle on a PKI folder made by createPki (test files reach the shared plane's CA this way). */
export function openPki(dir: string): TestPki {
  const caCert = join(dir, 'ca.crt')
  const caKey = join(dir, 'ca.key')
  const saKey = join(dir, 'sa.key')
  const saPub = join(dir, 'sa.pub')
  return {
    dir,
    caCert,
    caKey,
    saKey,
    saPub,
    issueServing(name, dnsNames = [], ips = []) {
      const sans = [
        'IP:127.0.0.1',
        'DNS:localhost',
        ...dnsNames.map((d) => `DNS:${d}`),
        ...ips.map((ip) => `IP:${ip}`),
      ]
      return issue(
        name,
        `/CN=${name}`,
        `subjectAltName=${sans.join(',')}\nextendedKeyUsage=serverAuth\n`,
      )
    },
    issueClient(name, user, groups = []) {
      const subject = `${groups.map((g) => `/O=${g}`).join('')}/CN=${user}`
      return issue(name, subject, 'extendedKeyUsage=clientAuth\n')
    },
  }

  function issue(name: string, subject: string, extensions: string): CertFiles {
    name = `${name}-${randomBytes(4).toString('hex')}`
    const key = join(dir, `${name}.key`)
    const csr = join(dir, `${name}.csr`)
    const cert = join(dir, `${name}.crt`)
    const ext = join(dir, `${name}.ext`)
    writeFileSync(ext, extensions)
    openssl(dir, [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      key,
      '-out',
      csr,
    ])
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      caCert,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      cert,
    ])
    return { cert, key }
  }
}
