// kubectl and helm against a test node, as a platform engineer would drive them, plus waiting.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { peerBinary } from '../peers/paths.ts'
import type { NodeClusterInfo } from './node-cluster.ts'

export interface Kube {
  kubectl(args: readonly string[], input?: string): Promise<string>
  helm(args: readonly string[]): Promise<string>
  /** kubectl apply of objects given as data. */
  apply(objects: readonly object[]): Promise<void>
  json<T = Record<string, unknown>>(args: readonly string[]): Promise<T>
}

function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { encoding: 'utf8', maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`${cmd.split('/').pop()} ${args.join(' ')}: ${stderr || err.message}`))
        else resolve(stdout)
      },
    )
    if (input !== undefined) child.stdin!.end(input)
  })
}

export function kubeFor(node: Pick<NodeClusterInfo, 'kubeconfig' | 'workDir'>): Kube {
  const kubectl = peerBinary('kubectl')
  const kc = `--kubeconfig=${node.kubeconfig}`
  const kube: Kube = {
    kubectl: (args, input) => run(kubectl, [kc, ...args], input),
    // Looked up on first use: the node harness itself needs no helm.
    helm: (args) => run(peerBinary('helm'), [kc, ...args]),
    async apply(objects) {
      const file = join(node.workDir, `apply-${randomBytes(4).toString('hex')}.json`)
      writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }))
      await kube.kubectl(['apply', '-f', file])
    },
    async json<T>(args: readonly string[]) {
      return JSON.parse(await kube.kubectl([...args, '-o', 'json'])) as T
    },
  }
  return kube
}

/** Polls `check` until it returns a value other than undefined; the error names what and the last state. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  more: { describe?: () => Promise<string>; intervalMs?: number } = {},
): Promise<T> {
  const { describe, intervalMs = 500 } = more
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      const state = describe ? await describe().catch((e: Error) => e.message) : ''
      throw new Error(
        `${what}: not reached in ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}\n${state}`,
      )
    }
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}
