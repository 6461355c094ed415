// What a node test file uses: `const node = await useNode()` at module top level. Under `npm test`
// the run shares one node started by test/peers/global-setup.ts (its info is in the file named by
// IAM_SIDECAR_TEST_NODE); a file run on its own starts and stops its own node.
import { after } from 'node:test'
import { readFileSync } from 'node:fs'
import { startNodeCluster, type NodeClusterInfo } from './node-cluster.ts'

export const NODE_INFO_ENV = 'IAM_SIDECAR_TEST_NODE'

export async function useNode(): Promise<NodeClusterInfo> {
  const shared = process.env[NODE_INFO_ENV]
  if (shared) return JSON.parse(readFileSync(shared, 'utf8')) as NodeClusterInfo
  const node = await startNodeCluster({ log: (l) => console.log(`# node: ${l}`) })
  after(() => node.stop())
  return node
}
