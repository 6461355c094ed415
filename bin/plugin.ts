// The kubectl plugin's entry, run by bin/kubectl-iam_sidecar (which finds Node 24 first):
// `kubectl iam-sidecar explain <pod> | -f <manifest>`, mapped onto `iam-sidecar explain`.
import { ApiException } from '@kubernetes/client-node'
import { main as explain } from '../injector/explain-main.ts'
import { pluginArgs } from '../injector/plugin-args.ts'
import { ConfigError } from '../lib/flags.ts'
import { runMain } from '../lib/run-main.ts'

/** kubectl's one line for an API error, e.g. `Error from server (NotFound): pods "x" not found`. */
function serverError(err: ApiException<unknown>): string {
  let status: { reason?: string; message?: string } = {}
  try {
    status = typeof err.body === 'string' ? JSON.parse(err.body) : (err.body as typeof status)
  } catch {
    // Not a Kubernetes Status (a proxy's page, say): the HTTP code below still says enough.
  }
  return `Error from server (${status.reason ?? `HTTP ${err.code}`}): ${status.message ?? err.message}`
}

async function main(argv: readonly string[]): Promise<void> {
  const command = pluginArgs(argv)
  if (command.kind === 'help') {
    process.stdout.write(command.text)
    return
  }
  try {
    await explain(command.argv)
  } catch (err) {
    if (err instanceof ConfigError || !(err instanceof Error)) throw err
    // As kubectl: one line for what the cluster (or the way to it) said, no stack trace.
    // (fetch's own message is only "fetch failed"; its cause names the host and the errno.)
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : ''
    const line = err instanceof ApiException ? serverError(err) : `error: ${err.message}${cause}`
    process.stderr.write(`${line}\n`)
    process.exitCode = 1
  }
}

await runMain('kubectl', main, process.argv.slice(2), 'kubectl iam-sidecar')
