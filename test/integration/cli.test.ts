// The CLI fails fast on bad configuration, naming the flag, with exit code 2.
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { repoRoot } from '../peers/paths.ts'

const cli = (...args: string[]) =>
  spawnSync(process.execPath, [join(repoRoot, 'bin', 'iam-sidecar.ts'), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  })

it('names the bad flag and exits 2', () => {
  const cases: [string[], RegExp][] = [
    [
      ['broker', '--tls-cert-file=a', '--tls-key-file=b', '--mode=node'],
      /--node-name .* is required with --mode=node/,
    ],
    [
      ['broker', '--tls-cert-file=a', '--tls-key-file=b', '--base-role-arn=nope'],
      /--base-role-arn: must look like/,
    ],
    [
      ['broker', '--tls-cert-file=a', '--tls-key-file=b', '--session-duration=5m'],
      /--session-duration: must be at least/,
    ],
    [['broker'], /--tls-cert-file .* is required/],
    [['sidecar', '--broker-url=http://x'], /--broker-url: must use https:/],
    [
      ['sidecar', '--broker-url=https://x', '--refresh-window=10m'],
      /--refresh-window: must be more than 15m/,
    ],
  ]
  for (const [args, message] of cases) {
    const r = cli(...args)
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, message)
  }
})

it('lists its commands and refuses unknown ones', () => {
  assert.match(cli('--help').stdout, /sidecar .*\n.*broker/s)
  assert.equal(cli('nope').status, 2)
})
