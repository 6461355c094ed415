// What the broker benchmarks share: pods asking for credentials as sidecars do, in batches, and
// the broker process's RSS.
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:https'

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Math.round((Number(m?.[1] ?? 0) / 1024) * 10) / 10
}

export async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  fn: (t: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = []
  for (let i = 0; i < items.length; i += size)
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))))
  return out
}

/** GET credentials like a sidecar: retry a 503 after a second until served. */
export function fetchCreds(url: string, ca: Buffer, agent: Agent, token: string): Promise<string> {
  const once = (): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request(
        `${url}/v1/credentials`,
        { ca, agent, headers: { authorization: `Bearer ${token}` } },
        (res) => {
          let body = ''
          res.on('data', (d: Buffer) => (body += d.toString()))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        },
      )
      req.on('error', reject)
      req.end()
    })
  const loop = async (): Promise<string> => {
    for (let attempt = 0; attempt < 120; attempt++) {
      const r = await once().catch(() => ({ status: 0, body: '' }))
      if (r.status === 200) return (JSON.parse(r.body) as { AccessKeyId: string }).AccessKeyId
      await new Promise((res) => setTimeout(res, 1000))
    }
    throw new Error('a pod was never served')
  }
  return loop()
}

/**
 * Every token asks at once over one keep-alive agent, retrying 503s like a sidecar; the STS calls
 * the shim saw meanwhile, the distinct sessions handed out and the broker's peak RSS.
 */
export async function storm(
  broker: { url: string; caFile: string; pid: number },
  tokens: readonly string[],
  sts: { readonly assumeRoleRequests: number },
): Promise<{ seconds: number; stsCalls: number; sessions: number; peakRssMb: number }> {
  const callsBefore = sts.assumeRoleRequests
  let peak = rssMb(broker.pid)
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(broker.pid))), 100)
  const ca = readFileSync(broker.caFile)
  const agent = new Agent({ keepAlive: true, maxSockets: 512 })
  const t0 = performance.now()
  try {
    const keys = await Promise.all(tokens.map((t) => fetchCreds(broker.url, ca, agent, t)))
    return {
      seconds: (performance.now() - t0) / 1000,
      stsCalls: sts.assumeRoleRequests - callsBefore,
      sessions: new Set(keys).size,
      peakRssMb: peak,
    }
  } finally {
    clearInterval(sampler)
    agent.destroy()
  }
}
