import { request } from 'node:https'
import { request as httpRequest } from 'node:http'

/**
 * Status of a GET against a TLS server signed by `ca` (harness readiness checks only);
 * `ca: 'insecure'` skips verification for a peer's self-signed health port.
 */
export function httpsStatus(
  url: string,
  ca: Buffer | 'insecure',
  bearer?: string,
): Promise<number> {
  const tls = ca === 'insecure' ? { rejectUnauthorized: false } : { ca }
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ...tls, headers: bearer ? { authorization: `Bearer ${bearer}` } : {}, timeout: 2000 },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end()
  })
}

export function httpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end()
  })
}
