// The kubectl plugin's entry, run by bin/kubectl-iam_sidecar (which finds Node 24 first):
// `kubectl iam-sidecar explain <pod> | -f <manifest>`, mapped onto `iam-sidecar explain`.
import { main as explain } from '../injector/explain-main.ts'
import { pluginArgs } from '../injector/plugin-args.ts'
import { runMain } from '../lib/run-main.ts'

async function main(argv: readonly string[]): Promise<void> {
  const command = pluginArgs(argv)
  if (command.kind === 'help') {
    process.stdout.write(command.text)
    return
  }
  // explain prints a cluster error as kubectl does: one line, exit 1.
  await explain(command.argv)
}

await runMain('kubectl', main, process.argv.slice(2), 'kubectl iam-sidecar')
