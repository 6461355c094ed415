// Starts a peer process under guard.sh with its output in a log file, and stops it.
import { spawn, type ChildProcess } from 'node:child_process'
import { openSync, closeSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const guard = join(import.meta.dirname, 'guard.sh')

export interface PeerProcess {
  readonly name: string
  readonly logFile: string
  readonly child: ChildProcess
  /** Last lines of the log, for error messages. */
  tail(lines?: number): string
  stop(): Promise<void>
}

export function startProcess(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: { logDir: string; env?: NodeJS.ProcessEnv; cwd?: string; netns?: string },
): PeerProcess {
  const logFile = join(opts.logDir, `${name}.log`)
  const fd = openSync(logFile, 'a')
  const guarded = ['bash', guard, String(process.pid), '--', cmd, ...args]
  // A node harness peer runs inside the test's own network namespace. nsenter --net enters only
  // that namespace (`ip netns exec` would also remount /sys and hide the cgroup mounts).
  const argv = opts.netns ? ['nsenter', `--net=/var/run/netns/${opts.netns}`, ...guarded] : guarded
  const child = spawn(argv[0]!, argv.slice(1), {
    stdio: ['ignore', fd, fd],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  })
  closeSync(fd)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    name,
    logFile,
    child,
    tail(lines = 30) {
      try {
        return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
      } catch {
        return ''
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** Polls `check` until it returns true; throws with the process's log tail on timeout or exit. */
export async function waitFor(
  proc: PeerProcess,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (proc.child.exitCode !== null) {
      throw new Error(
        `${proc.name} exited (${proc.child.exitCode}) before ${what}:\n${proc.tail()}`,
      )
    }
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) {
      throw new Error(`${proc.name}: ${what} not reached in ${timeoutMs} ms:\n${proc.tail()}`)
    }
    await new Promise((r) => setTimeout(r, 150))
  }
}
