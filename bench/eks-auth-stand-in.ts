// BENCHMARK STAND-IN for the EKS Auth service, not a model of it: an HTTP server on 127.0.0.1 that
// answers AssumeRoleForPodIdentity (REST-JSON, as scripts/peers/eksauth-stand-in sends it) with
// the credentials it was given, so the EKS Pod Identity Agent serves the same body as the sidecar.
// It checks the shape of the call (path, SigV4 header, a token in the body), never the token
// itself. Only the agent's cold path comes here: `calls` shows how often it did.
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Credentials } from '../lib/credentials.ts'

const PATH = /^\/clusters\/([^/]+)\/assume-role-for-pod-identity$/

export interface StandInAnswer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

const error = (status: number, code: string, message: string): StandInAnswer => ({
  status,
  headers: { 'content-type': 'application/json', 'x-amzn-errortype': code },
  body: JSON.stringify({ message }),
})

/** The answer to one request: pure, so the shape checks are testable without a server. */
export function answerAssumeRoleForPodIdentity(
  req: { method: string; path: string; authorization: string | undefined; body: string },
  creds: Credentials,
): StandInAnswer {
  const m = PATH.exec(req.path)
  if (req.method !== 'POST' || !m)
    return error(404, 'UnknownOperationException', 'no such operation')
  if (!req.authorization?.startsWith('AWS4-HMAC-SHA256 Credential='))
    return error(403, 'AccessDeniedException', 'request is not SigV4-signed')
  let token: unknown
  try {
    token = (JSON.parse(req.body) as { token?: unknown }).token
  } catch {
    return error(400, 'InvalidRequestException', 'body is not JSON')
  }
  if (typeof token !== 'string' || token === '')
    return error(400, 'InvalidRequestException', 'token is required')
  const cluster = decodeURIComponent(m[1]!)
  const roleName = creds.roleArn.split('/').at(-1) ?? 'role'
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      assumedRoleUser: {
        arn: `arn:aws:sts::${creds.accountId}:assumed-role/${roleName}/eks-${cluster}-bench`,
        assumeRoleId: `AROABENCHSTANDIN:eks-${cluster}-bench`,
      },
      audience: 'pods.eks.amazonaws.com',
      credentials: {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        sessionToken: creds.sessionToken,
        expiration: Math.floor(creds.expiresAt / 1000),
      },
      podIdentityAssociation: {
        associationArn: `arn:aws:eks:us-east-1:${creds.accountId}:podidentityassociation/${cluster}/a-bench`,
        associationId: 'a-bench',
      },
      subject: { namespace: 'bench', serviceAccount: 'bench' },
    }),
  }
}

export interface EksAuthStandIn {
  readonly url: string
  /** AssumeRoleForPodIdentity calls received (the agent's cold path). */
  readonly calls: () => number
  close(): Promise<void>
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function startEksAuthStandIn(creds: Credentials): Promise<EksAuthStandIn> {
  let calls = 0
  const server: Server = createServer((req, res) => {
    calls++
    readBody(req).then(
      (body) => {
        const a = answerAssumeRoleForPodIdentity(
          {
            method: req.method ?? '',
            path: req.url ?? '',
            authorization: req.headers.authorization,
            body,
          },
          creds,
        )
        res.writeHead(a.status, a.headers).end(a.body)
      },
      () => res.writeHead(400).end(),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    calls: () => calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
