// Runs a program's main, turning a ConfigError into a one-line message and exit code 2.
import { ConfigError } from './flags.ts'

export async function runMain(
  name: string,
  main: (argv: readonly string[]) => Promise<void>,
  argv: readonly string[],
): Promise<void> {
  try {
    await main(argv)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`iam-sidecar ${name}: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
}
