#!/usr/bin/env node
// The one CLI: `iam-sidecar <injector|broker|sidecar|explain|demo> [flags]`. Each subcommand is
// loaded on demand so the sidecar never loads the broker's Kubernetes or STS clients.
import { runMain } from '../lib/run-main.ts'

type Main = (argv: readonly string[]) => Promise<void>

const COMMANDS: Record<string, { summary: string; load: () => Promise<Main> }> = {
  sidecar: {
    summary: 'per-pod credentials endpoint on 127.0.0.1',
    load: async () => (await import('../sidecar/main.ts')).main,
  },
  broker: {
    summary: "the broker: pod-bound token in, the pod's role session out",
    load: async () => (await import('../broker/main.ts')).main,
  },
  injector: {
    summary: 'the admission webhook that adds the sidecar to annotated pods',
    load: async () => (await import('../injector/main.ts')).main,
  },
  explain: {
    summary: 'what injection does to a pod (manifest or live), or why it is refused',
    load: async () => (await import('../injector/explain-main.ts')).main,
  },
  demo: {
    summary: 'local end-to-end demo on real parts (needs a source checkout)',
    load: async () => async () => {
      await import('../scripts/demo.ts')
    },
  },
}

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  return `usage: iam-sidecar <command> [--flag=value ...]\n\ncommands:\n${lines.join('\n')}\n`
}

const [command, ...rest] = process.argv.slice(2)
const entry = command === undefined ? undefined : COMMANDS[command]
if (!entry) {
  const unknown = command !== undefined && command !== '--help'
  if (unknown) process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${usage()}`)
  else process.stdout.write(usage())
  process.exit(unknown ? 2 : 0)
}
await runMain(command!, await entry.load(), rest)
