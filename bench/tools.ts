// Benchmark tools from Debian's packages, installed on first use when running as root.
import { execFileSync, execSync } from 'node:child_process'

function has(cmd: string): boolean {
  try {
    execSync(`command -v ${cmd}`, { stdio: 'ignore', shell: '/bin/bash' })
    return true
  } catch {
    return false
  }
}

export function ensureDebianTools(tools: Record<string, string>): void {
  const missing = Object.entries(tools).filter(([cmd]) => !has(cmd) && !has(`/usr/sbin/${cmd}`))
  if (missing.length === 0) return
  const pkgs = missing.map(([, pkg]) => pkg)
  if (process.getuid?.() !== 0)
    throw new Error(`benchmarks need ${pkgs.join(', ')}: apt-get install ${pkgs.join(' ')}`)
  console.log(`# installing ${pkgs.join(', ')} from Debian's packages`)
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' })
  execFileSync('apt-get', ['install', '-y', '-qq', ...pkgs], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
}
