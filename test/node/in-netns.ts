// Requests from inside the test node's network namespace, where Service ClusterIPs and pod
// addresses exist (the host reaches only the node address).
import { execFile } from 'node:child_process'

export interface NetnsRequest {
  readonly url: string
  /** PEM of the CA that signed the server (HTTPS). */
  readonly ca?: string
  /** TLS server name when the URL holds an address (a ClusterIP). */
  readonly servername?: string
  readonly bearer?: string
}

const SCRIPT = `
const o = JSON.parse(process.env.REQ)
const u = new URL(o.url)
const mod = u.protocol === 'https:' ? require('node:https') : require('node:http')
const req = mod.request(u, { ca: o.ca, servername: o.servername, timeout: 5000,
  headers: o.bearer ? { authorization: 'Bearer ' + o.bearer } : {} }, (res) => {
  let body = ''
  res.on('data', (d) => (body += d)).on('end', () => process.stdout.write(JSON.stringify({ status: res.statusCode, body })))
})
req.on('timeout', () => req.destroy(new Error('timeout')))
req.on('error', (e) => process.stdout.write(JSON.stringify({ status: 0, body: e.message })))
req.end()
`

/** Status and body of a GET made from inside `netns` (status 0: no connection). */
export function getInNetns(
  netns: string,
  r: NetnsRequest,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'nsenter',
      [`--net=/var/run/netns/${netns}`, process.execPath, '-e', SCRIPT],
      { encoding: 'utf8', env: { ...process.env, REQ: JSON.stringify(r) }, timeout: 15_000 },
      (err, stdout) => {
        if (err) reject(err)
        else resolve(JSON.parse(stdout) as { status: number; body: string })
      },
    )
  })
}
