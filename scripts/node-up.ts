// Starts the test node and keeps it up until Ctrl-C (for poking at it with kubectl); prints the
// admin kubeconfig. Development aid: `node scripts/node-up.ts`.
import { startNodeCluster } from '../test/node/node-cluster.ts'

const node = await startNodeCluster({ log: (l) => console.log(`# ${l}`) })
console.log(`export KUBECONFIG=${node.kubeconfig}  # netns ${node.netns}, work dir ${node.workDir}`)
process.once('SIGINT', () => void node.stop().finally(() => process.exit(0)))
process.once('SIGTERM', () => void node.stop().finally(() => process.exit(0)))
setInterval(() => {}, 1 << 30)
