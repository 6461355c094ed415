// A program of ours run as a child process for a test: its output captured, a stop that waits
// for the exit, and a readiness wait that fails with the output when the program dies first.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'

export interface Program {
  readonly child: ChildProcess
  /** Everything the program printed so far (stdout and stderr). */
  output(): string
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<void>
}

export function startProgram(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Program {
  const opts: SpawnOptions = { stdio: ['ignore', 'pipe', 'pipe'], env }
  const child = spawn(cmd, args, opts)
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** Polls `check` every `pollMs` until it holds; throws with the output on exit or timeout. */
export async function waitUntilReady(
  p: Program,
  check: () => Promise<boolean>,
  o: { what: string; timeoutMs: number; pollMs: number },
): Promise<void> {
  const deadline = Date.now() + o.timeoutMs
  for (;;) {
    if (p.child.exitCode !== null)
      throw new Error(`${o.what} exited ${p.child.exitCode}:\n${p.output()}`)
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) {
      await p.stop()
      throw new Error(`${o.what} not ready in ${o.timeoutMs / 1000} s:\n${p.output()}`)
    }
    await new Promise((r) => setTimeout(r, o.pollMs))
  }
}
