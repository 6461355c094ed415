// `kubectl iam-sidecar explain …` (bin/kubectl-iam_sidecar): kubectl-style arguments (a pod name
// as an argument, -n, -f, `--flag value`) mapped onto `iam-sidecar explain`'s own flags, so the
// plugin is a second front end to the one explain implementation, not a copy of it.
// Pure: argv in, explain's argv (or the help text) out; bad usage throws ConfigError.
import { ConfigError, type Flag } from '../lib/flags.ts'
import { EXPLAIN_FLAGS } from './explain-main.ts'

export type PluginCommand =
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'explain'; readonly argv: readonly string[] }

/** An option the plugin spells the kubectl way; `to` is the explain flag it becomes. */
interface Own {
  readonly names: readonly string[]
  readonly to: string
  /** A live pod (by name) or manifests (-f): each option belongs to one. */
  readonly mode: 'live' | 'manifest'
  readonly value: string
  readonly help: string
}

const OWN: readonly Own[] = [
  {
    names: ['-n', '--namespace'],
    to: 'namespace-name',
    mode: 'live',
    value: 'namespace',
    help: "The pod's namespace (default: the kubeconfig context's, else default).",
  },
  {
    names: ['--kubeconfig'],
    to: 'kubeconfig',
    mode: 'live',
    value: 'file',
    help: 'Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).',
  },
  {
    names: ['--context'],
    to: 'context',
    mode: 'live',
    value: 'name',
    help: 'Kubeconfig context (default: its current context).',
  },
  {
    names: ['-f', '--filename'],
    to: 'pod',
    mode: 'manifest',
    value: 'file',
    help: 'Pod manifest, YAML or JSON, instead of a live pod (- reads stdin).',
  },
  {
    names: ['--namespace-file'],
    to: 'namespace',
    mode: 'manifest',
    value: 'file',
    help: 'With -f: the Namespace manifest (its iam-sidecar/permitted policy).',
  },
  {
    names: ['--service-account-file'],
    to: 'service-account',
    mode: 'manifest',
    value: 'file',
    help: 'With -f: the ServiceAccount manifest (its iam-sidecar/role).',
  },
]

// Every other explain flag (the policy ones: --default-policy, --base-role-arn, ...) passes
// through under its own name, so a flag added to explain reaches the plugin with no change here.
const SPELLED_HERE = new Set(['live', 'pod-name', ...OWN.map((o) => o.to)])
const PASSED: readonly Flag<unknown>[] = Object.values(
  EXPLAIN_FLAGS as Record<string, Flag<unknown>>,
).filter((f) => !SPELLED_HERE.has(f.name))

const OWN_BY_NAME = new Map<string, Own>(OWN.flatMap((o) => o.names.map((n) => [n, o] as const)))
const PASSED_BY_NAME = new Map<string, Flag<unknown>>(
  PASSED.map((f) => [`--${f.name}`, f] as const),
)

function usageError(message: string): ConfigError {
  return new ConfigError(`${message} (see kubectl iam-sidecar explain --help)`)
}

function optionLines(rows: readonly [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2
  return rows.map(([left, help]) => `  ${left.padEnd(width)}${help}`)
}

function passedHelp(f: Flag<unknown>): [string, string] {
  const value = f.type === 'boolean' ? '[=true|false]' : ` <${f.type}>`
  const def = f.default !== undefined ? ` Default: ${f.default}.` : ''
  return [`--${f.name}${value}`, `${f.description}${def}`]
}

export const PLUGIN_USAGE = [
  'kubectl iam-sidecar explain: what iam-sidecar injection does to a pod, or why it is refused,',
  'which IAM role applies and which policy decides it.',
  '',
  'Usage:',
  '  kubectl iam-sidecar explain <pod> [-n <namespace>] [--kubeconfig <file>] [--context <name>]',
  '  kubectl iam-sidecar explain -f <pod.yaml> [--namespace-file <ns.yaml>]',
  '                              [--service-account-file <sa.yaml>]',
  '',
  'Examples:',
  '  kubectl iam-sidecar explain web -n team-a',
  '  kubectl get pod web -n team-a -o yaml | kubectl iam-sidecar explain -f -',
  '  kubectl iam-sidecar explain -f pod.yaml --namespace-file ns.yaml --default-policy allow',
  '',
  'Options:',
  ...optionLines([
    ...OWN.map((o): [string, string] => [`${o.names.join(', ')} <${o.value}>`, o.help]),
    ['-h, --help', 'This text.'],
  ]),
  '',
  "Policy options (as `iam-sidecar explain`'s):",
  ...optionLines(PASSED.map(passedHelp)),
  '',
].join('\n')

interface Scanned {
  help: boolean
  readonly positionals: string[]
  /** Keyed by option; the name as typed (for error messages) and the value. */
  readonly own: Map<Own, { typed: string; value: string }>
  readonly passed: Map<Flag<unknown>, string>
}

/** pflag's forms: `--name=v`, `--name v`, `-n v`, `-n=v`, `-nv`; booleans take no next word. */
function scan(args: readonly string[]): Scanned {
  const out: Scanned = { help: false, positionals: [], own: new Map(), passed: new Map() }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--') {
      out.positionals.push(...args.slice(i + 1))
      break
    }
    if (arg === '-' || !arg.startsWith('-')) out.positionals.push(arg)
    else if (arg === '-h' || arg === '--help') out.help = true
    else if (readFlag(arg, args[i + 1], out)) i++
  }
  return out
}

/** Records one flag in `out`; true when it took `next` as its value. */
function readFlag(arg: string, next: string | undefined, out: Scanned): boolean {
  const [, name = arg, eq, rest] = /^(--[^=]+|-[^-=])(=?)(.*)$/s.exec(arg) ?? []
  const own = OWN_BY_NAME.get(name)
  const passed = PASSED_BY_NAME.get(name)
  if (!own && !passed) throw usageError(`unknown flag ${name}`)
  const inline = inlineValue(eq!, rest!, passed?.type === 'boolean')
  const value = inline ?? next
  if (value === undefined || value === '') throw usageError(`${name} needs a value`)
  if (own) out.own.set(own, { typed: name, value })
  else out.passed.set(passed!, value)
  return inline === undefined
}

/** `--x=v` or `-xv` carry their value; a bare boolean means true; else the next word is it. */
function inlineValue(eq: string, rest: string, boolean: boolean): string | undefined {
  if (eq || rest) return rest
  return boolean ? 'true' : undefined
}

/** `web`, `pod/web` or `pods/web` (as `kubectl get pods -o name` prints them). */
function podName(arg: string): string {
  const m = /^(?:pods?\/)?([^/]+)$/.exec(arg)
  if (!m) throw usageError(`explain reads pods, not ${JSON.stringify(arg)}`)
  return m[1]!
}

/** A live pod (named as an argument) or manifests (-f): one of the two, and never both. */
function modeOf(s: Scanned): 'live' | 'manifest' {
  if (s.positionals.length > 1)
    throw usageError(`one pod name expected (got ${s.positionals.join(', ')})`)
  const named = s.positionals.length === 1
  const file = [...s.own.keys()].some((o) => o.to === 'pod')
  if (named && file) throw usageError('give a pod name or -f <manifest>, not both')
  if (!named && !file) throw usageError('give a pod name, or -f <manifest>')
  return file ? 'manifest' : 'live'
}

function explainArgv(s: Scanned): string[] {
  const mode = modeOf(s)
  const argv = mode === 'live' ? ['--live', `--pod-name=${podName(s.positionals[0]!)}`] : []
  for (const [o, { typed, value }] of s.own) {
    if (o.mode !== mode)
      throw usageError(
        o.mode === 'live' ? `${typed} is for a live pod, not -f` : `${typed} needs -f <manifest>`,
      )
    argv.push(`--${o.to}=${o.to === 'pod' && value === '-' ? '/dev/stdin' : value}`)
  }
  for (const [f, value] of s.passed) argv.push(`--${f.name}=${value}`)
  return argv
}

export function pluginArgs(argv: readonly string[]): PluginCommand {
  const [command, ...rest] = argv
  if (command === '-h' || command === '--help' || command === 'help')
    return { kind: 'help', text: PLUGIN_USAGE }
  if (command === undefined) throw usageError('missing command: explain')
  if (command !== 'explain')
    throw usageError(`unknown command ${JSON.stringify(command)}: the command is explain`)
  const s = scan(rest)
  return s.help ? { kind: 'help', text: PLUGIN_USAGE } : { kind: 'explain', argv: explainArgv(s) }
}
