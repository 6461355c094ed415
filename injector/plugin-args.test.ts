// The kubectl plugin's arguments map onto explain's flags; bad usage names what is wrong.
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError } from '../lib/flags.ts'
import { pluginArgs, PLUGIN_USAGE } from './plugin-args.ts'

const mapped = (...argv: string[]) => {
  const c = pluginArgs(argv)
  assert.equal(c.kind, 'explain', `${argv.join(' ')} gave help`)
  return c.kind === 'explain' ? c.argv : []
}

it('maps a live pod: the name as an argument, -n, --kubeconfig, --context, in kubectl forms', () => {
  assert.deepEqual(mapped('explain', 'web'), ['--live', '--pod-name=web'])
  assert.deepEqual(mapped('explain', 'pod/web', '-n', 'team-a'), [
    '--live',
    '--pod-name=web',
    '--namespace-name=team-a',
  ])
  for (const ns of [['-nteam-a'], ['-n=team-a'], ['--namespace=team-a'], ['--namespace', 'team-a']])
    assert.deepEqual(mapped('explain', ...ns, 'pods/web'), [
      '--live',
      '--pod-name=web',
      '--namespace-name=team-a',
    ])
  assert.deepEqual(mapped('explain', '--kubeconfig', 'k.yaml', '--context=prod', 'web'), [
    '--live',
    '--pod-name=web',
    '--kubeconfig=k.yaml',
    '--context=prod',
  ])
  // As pflag: a repeated flag's last value wins; after `--` everything is an argument.
  assert.deepEqual(mapped('explain', '-n', 'a', '-n', 'b', '--', '-web'), [
    '--live',
    '--pod-name=-web',
    '--namespace-name=b',
  ])
})

it('maps manifests: -f (- is stdin), --namespace-file, --service-account-file', () => {
  assert.deepEqual(
    mapped(
      'explain',
      '-f',
      'pod.yaml',
      '--namespace-file',
      'ns.yaml',
      '--service-account-file=sa.yaml',
    ),
    ['--pod=pod.yaml', '--namespace=ns.yaml', '--service-account=sa.yaml'],
  )
  assert.deepEqual(mapped('explain', '--filename=-'), ['--pod=/dev/stdin'])
})

it("passes explain's policy flags through, booleans without taking the next word", () => {
  assert.deepEqual(
    mapped(
      'explain',
      '--default-policy',
      'allow',
      'web',
      '--base-role-arn=arn:aws:iam::111122223333:role/',
      '--native-sidecars',
    ),
    [
      '--live',
      '--pod-name=web',
      '--default-policy=allow',
      '--base-role-arn=arn:aws:iam::111122223333:role/',
      '--native-sidecars=true',
    ],
  )
  assert.deepEqual(mapped('explain', '-f', 'p.yaml', '--native-sidecars=false'), [
    '--pod=p.yaml',
    '--native-sidecars=false',
  ])
})

it('prints help for --help, -h and help, listing the plugin and policy flags', () => {
  for (const argv of [['--help'], ['help'], ['explain', '-h'], ['explain', 'web', '--help']])
    assert.deepEqual(pluginArgs(argv), { kind: 'help', text: PLUGIN_USAGE })
  for (const flag of ['-n, --namespace', '-f, --filename', '--context', '--default-policy'])
    assert.ok(PLUGIN_USAGE.includes(flag), flag)
})

it('refuses bad usage with a ConfigError (exit 2) that names what is wrong', () => {
  const cases: [string[], RegExp][] = [
    [[], /missing command: explain/],
    [['describe', 'web'], /unknown command "describe"/],
    [['explain'], /give a pod name, or -f <manifest>/],
    [['explain', 'web', '-f', 'p.yaml'], /not both/],
    [['explain', 'a', 'b'], /one pod name expected \(got a, b\)/],
    [['explain', 'deploy/web'], /reads pods, not "deploy\/web"/],
    [['explain', 'web', '--bogus'], /unknown flag --bogus/],
    // explain's own spellings are not the plugin's: the pod is an argument, not --pod-name.
    [['explain', '--pod-name=web'], /unknown flag --pod-name/],
    [['explain', 'web', '-n'], /-n needs a value/],
    [['explain', 'web', '--namespace='], /--namespace needs a value/],
    [['explain', '-f', 'p.yaml', '-n', 'a'], /-n is for a live pod, not -f/],
    [['explain', '-f', 'p.yaml', '--context=x'], /--context is for a live pod/],
    [['explain', 'web', '--namespace-file', 'ns.yaml'], /--namespace-file needs -f/],
  ]
  for (const [argv, message] of cases)
    assert.throws(
      () => pluginArgs(argv),
      (err) => err instanceof ConfigError && message.test(err.message),
      argv.join(' '),
    )
})
