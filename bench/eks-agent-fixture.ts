// The EKS Pod Identity Agent (built by scripts/peers/eks-pod-identity-agent.sh with the eksauth
// stand-in) as a benchmark peer: one process, as on a node, bound to loopback instead of
// 169.254.170.23 (the Host header still names that address, which the agent checks), fed by the
// stand-in EKS Auth endpoint. It is warmed with one request, so a benchmark measures its warm
// path: its own cache and HTTP server.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Credentials } from '../lib/credentials.ts'
import { cacheRoot, repoRoot } from '../test/peers/paths.ts'
import { freePort } from '../test/peers/ports.ts'
import { startEksAuthStandIn } from './eks-auth-stand-in.ts'

/** The address pods call the agent on; its Host check wants exactly this. */
export const AGENT_HOST = '169.254.170.23'

export interface BenchEksAgent {
  readonly url: string
  /** Headers every request carries: the Host the agent checks and the pod's token. */
  readonly headers: Readonly<Record<string, string>>
  readonly child: ChildProcess
  readonly version: string
  readonly startToReadyMs: number
  /** AssumeRoleForPodIdentity calls the stand-in endpoint answered (the cold path). */
  readonly eksAuthCalls: () => number
  stop(): Promise<void>
}

function agentVersion(): string {
  const env = readFileSync(join(repoRoot, 'scripts', 'peers', 'versions.env'), 'utf8')
  const m = /^EKS_POD_IDENTITY_AGENT_VERSION=(\S+)$/m.exec(env)
  if (!m) throw new Error('scripts/peers/versions.env lacks EKS_POD_IDENTITY_AGENT_VERSION')
  return m[1]!
}

/**
 * Why the agent cannot run here, or undefined: it is neither in the cache nor buildable, since
 * its source is the shared peers tarball beside the clone (or EKS_POD_IDENTITY_AGENT_TARBALL),
 * which no registry serves.
 */
export function eksAgentUnavailable(tarballEnv: string | undefined): string | undefined {
  const version = agentVersion()
  const bin = join(cacheRoot(), 'peers', `eks-pod-identity-agent-${version}`, 'bin')
  if (existsSync(join(bin, 'eks-pod-identity-agent'))) return undefined
  const tarball =
    tarballEnv ??
    join(repoRoot, '..', 'shared', 'peers', `eks-pod-identity-agent-${version}.tar.gz`)
  return existsSync(tarball) ? undefined : `the agent's source tarball is not at ${tarball}`
}

/** The agent binary, built on first use (about 1 min cold). */
export function eksAgentBinary(): { path: string; version: string } {
  const version = agentVersion()
  const path = join(
    cacheRoot(),
    'peers',
    `eks-pod-identity-agent-${version}`,
    'bin',
    'eks-pod-identity-agent',
  )
  if (!existsSync(path))
    execFileSync(
      'bash',
      [join(repoRoot, 'scripts', 'peers', 'install.sh'), 'eks-pod-identity-agent'],
      {
        stdio: 'inherit',
      },
    )
  return { path, version }
}

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url')

/**
 * A token shaped like a projected ServiceAccount token for audience pods.eks.amazonaws.com (the
 * agent only parses it and checks its time claims; the stand-in endpoint never verifies it), with
 * a 2048-bit-sized signature, so requests are as large as real ones.
 */
export function podIdentityToken(nowSeconds = Math.floor(Date.now() / 1000)): string {
  const header = { alg: 'RS256', kid: 'bench-stand-in' }
  const claims = {
    aud: ['pods.eks.amazonaws.com'],
    exp: nowSeconds + 86400,
    iat: nowSeconds,
    iss: 'https://oidc.eks.us-east-1.amazonaws.com/id/BENCHSTANDIN0000000000000000000',
    jti: '6a1f3c2e-0b7d-4c8e-9f10-bench0000001',
    'kubernetes.io': {
      namespace: 'bench',
      node: { name: 'bench-node', uid: '0c9d7a39-4d1e-4f3e-8a51-bench0000002' },
      pod: { name: 'bench-pod', uid: '4b3f8e57-2c6a-4c31-b8d4-bench0000003' },
      serviceaccount: { name: 'bench', uid: '9e2d1c40-7f5b-4a8c-a3e6-bench0000004' },
    },
    nbf: nowSeconds,
    sub: 'system:serviceaccount:bench:bench',
  }
  return `${b64url(header)}.${b64url(claims)}.${randomBytes(256).toString('base64url')}`
}

/** One GET with a chosen Host header (fetch cannot set Host). */
export function getWithHost(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      )
    })
    req.on('error', reject)
    req.end()
  })
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

export async function startBenchEksAgent(creds: Credentials): Promise<BenchEksAgent> {
  const { path, version } = eksAgentBinary()
  const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-bench-eks-agent-'))
  const cleanups: (() => unknown)[] = [() => rmSync(dir, { recursive: true, force: true })]
  const stop = async (): Promise<void> => {
    for (const c of cleanups.splice(0)) await c()
  }
  try {
    const eksAuth = await startEksAuthStandIn(creds)
    cleanups.unshift(() => eksAuth.close())
    const [port, probePort, metricsPort] = [await freePort(), await freePort(), await freePort()]
    // Its per-request log lines (info, the chart's default) go to a file, as a container's would.
    const log = openSync(join(dir, 'agent.log'), 'a')
    const t0 = performance.now()
    const child = spawn(
      path,
      [
        'server',
        '--cluster-name=bench',
        '--bind-hosts=127.0.0.1',
        `--port=${port}`,
        `--probe-port=${probePort}`,
        '--metrics-address=127.0.0.1',
        `--metrics-port=${metricsPort}`,
        `--endpoint=${eksAuth.url}`,
      ],
      {
        stdio: ['ignore', log, log],
        // The agent's own (node role) identity, which signs its EKS Auth calls: fixed, hermetic.
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'AKIABENCHSTANDIN0000',
          AWS_SECRET_ACCESS_KEY: 'bench-stand-in-secret',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_CONFIG_FILE: '/dev/null',
          AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        },
      },
    )
    closeSync(log)
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    cleanups.unshift(async () => {
      child.kill('SIGTERM')
      await exited
    })
    const probe = `http://localhost:${probePort}/healthz`
    while (
      !(await fetch(probe).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (child.exitCode !== null)
        throw new Error(`the agent exited (${child.exitCode}); see ${dir}/agent.log`)
      await sleep(2)
    }
    const startToReadyMs = performance.now() - t0
    const url = `http://127.0.0.1:${port}/v1/credentials`
    const headers = { Host: AGENT_HOST, Authorization: podIdentityToken() }
    const first = await getWithHost(url, headers) // the cold path, once
    if (first.status !== 200)
      throw new Error(`the agent's first answer was ${first.status}: ${first.body.slice(0, 200)}`)
    return {
      url,
      headers,
      child,
      version,
      startToReadyMs,
      eksAuthCalls: eksAuth.calls,
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/** The agent's answer body, for comparing with the sidecar's. */
export async function agentBody(a: BenchEksAgent): Promise<string> {
  return (await getWithHost(a.url, { ...a.headers })).body
}
