// Runs the injector as its own process through the CLI (`iam-sidecar injector`) with
// self-bootstrapped TLS, as the static identity iam-sidecar-injector (RBAC is the caller's), on
// a fixed port, so a replica can be stopped, killed and started again where the webhook points.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestCluster } from '../peers/cluster.ts'
import { writeKubeconfig } from '../peers/control-plane.ts'
import { repoRoot } from '../peers/paths.ts'
import { startProgram, waitUntilReady, type Program } from './program.ts'

export interface InjectorProcess extends Program {
  readonly port: number
  /** SIGKILL, then wait for the exit: a crash, no shutdown code runs. */
  kill(): Promise<void>
}

export async function startInjectorProcess(
  cluster: TestCluster,
  o: { port: number; flags: readonly string[] },
): Promise<InjectorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'iam-sidecar-injector-proc-'))
  const kubeconfig = writeKubeconfig(dir, {
    server: cluster.info.apiserverUrl,
    caFile: cluster.info.caCertFile,
    user: 'iam-sidecar-injector',
    token: cluster.info.tokens['iam-sidecar-injector'],
  })
  const program = startProgram(
    process.execPath,
    [
      join(repoRoot, 'bin', 'iam-sidecar.ts'),
      'injector',
      `--kubeconfig=${kubeconfig}`,
      '--tls-self-bootstrap',
      `--port=${o.port}`,
      '--bind-address=127.0.0.1',
      '--metrics-port=0',
      '--metrics-bind-address=127.0.0.1',
      ...o.flags,
    ],
    { PATH: process.env.PATH ?? '', HOME: dir },
  )
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true })
  program.child.once('exit', cleanup)
  await waitUntilReady(program, async () => program.output().includes('"msg":"listening"'), {
    what: `injector on port ${o.port}`,
    timeoutMs: 30_000,
    pollMs: 50,
  })
  return {
    ...program,
    port: o.port,
    async kill() {
      if (program.child.exitCode !== null || program.child.signalCode !== null) return
      const exited = new Promise((r) => program.child.once('exit', r))
      program.child.kill('SIGKILL')
      await exited
    },
  }
}
