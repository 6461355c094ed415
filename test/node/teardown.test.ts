// A test node is removed even when the process that started it is killed with SIGKILL while a
// pod runs on it: processes (kubelet, containerd, shims, containers), mounts, cgroups, the
// network namespace and the work folder.
import { it } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../peers/paths.ts'
import { kubeFor, until } from './kubectl.ts'

it(
  'leaves nothing behind after SIGKILL of its owner, with a pod running',
  { timeout: 240_000 },
  async () => {
    const child = spawn(process.execPath, [join(repoRoot, 'scripts', 'node-up.ts')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    const m = await until(
      'node up',
      async () => /KUBECONFIG=(\S+)\s+# netns (\S+), work dir (\S+)/.exec(out) ?? undefined,
      120_000,
    )
    const [, kubeconfig, netns, workDir] = m as unknown as [string, string, string, string]
    const state = readFileSync(join(workDir, 'node-state.env'), 'utf8')
    const cgroupRoot = /CGROUP_ROOT=(\S+)/.exec(state)![1]!
    const kube = kubeFor({ kubeconfig, workDir })
    await kube.apply([
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'sleeper', namespace: 'default' },
        spec: {
          containers: [
            {
              name: 'pause',
              image: 'registry.k8s.io/pause:3.10-iam-sidecar-test',
              imagePullPolicy: 'Never',
            },
          ],
        },
      },
    ])
    await until('pod running', async () =>
      (await kube.kubectl(['get', 'pod', 'sleeper', '-o', 'jsonpath={.status.phase}'])) ===
      'Running'
        ? true
        : undefined,
    )
    const mountsBefore = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(workDir))
    assert.ok(mountsBefore.length > 0, 'the running pod has mounts under the work folder')

    child.kill('SIGKILL')
    await until(
      'everything removed',
      async () => {
        const netnsLeft = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(
          netns,
        )
        const mounts = readFileSync('/proc/self/mountinfo', 'utf8').includes(workDir)
        const procs = readdirSync('/proc')
          .filter((p) => /^\d+$/.test(p))
          .some((p) => {
            try {
              return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(workDir)
            } catch {
              return false
            }
          })
        const cgroups =
          existsSync(join('/sys/fs/cgroup', cgroupRoot)) ||
          readdirSync('/sys/fs/cgroup').some((c) =>
            existsSync(join('/sys/fs/cgroup', c, cgroupRoot)),
          )
        return !netnsLeft && !mounts && !procs && !cgroups && !existsSync(workDir)
          ? true
          : undefined
      },
      60_000,
    )
  },
)
