// Runs a program's main, turning a ConfigError into a one-line message and exit code 2.
import { ConfigError } from './flags.ts'

export async function runMain(
  name: string,
  main: (argv: readonly string[]) => Promise<void>,
  argv: readonly string[],
  // What the message names: the kubectl plugin is `kubectl iam-sidecar`, not a subcommand.
  label = `iam-sidecar ${name}`,
): Promise<void> {
  try {
    await main(argv)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${label}: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}
