// The test node's network: a network namespace made for the run, joined to the host by one veth
// pair on an address pair from 198.18.0.0/15 (RFC 2544 benchmarking space, never routed on real
// networks). Everything the node runs listens inside the namespace; the host reaches only the
// node's own address, and the namespace has no default route, so nothing leaves it.
import { execFileSync } from 'node:child_process'
import { randomInt } from 'node:crypto'

export interface NodeNetwork {
  readonly netns: string
  readonly hostVeth: string
  readonly hostIp: string
  readonly nodeIp: string
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' })
const inNs = (netns: string, ...cmd: string[]): string =>
  execFileSync('nsenter', [`--net=/var/run/netns/${netns}`, ...cmd], { encoding: 'utf8' })

/** Picks a free /30 in 198.18.0.0/16 (none of the host's addresses in it). */
export function pickNetwork(id: string): NodeNetwork {
  const used = ip('-o', '-4', 'addr', 'show')
  for (let tries = 0; tries < 50; tries++) {
    const octet = randomInt(1, 255)
    const base = `198.18.${octet}.`
    if (used.includes(` ${base}`)) continue
    return { netns: `iams-${id}`, hostVeth: `iams${id}h`, hostIp: `${base}1`, nodeIp: `${base}2` }
  }
  throw new Error('no free /30 in 198.18.0.0/16 for the test node')
}

export function createNetwork(n: NodeNetwork, serviceCidr: string): void {
  ip('netns', 'add', n.netns)
  ip('link', 'add', n.hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.netns)
  ip('addr', 'add', `${n.hostIp}/30`, 'dev', n.hostVeth)
  ip('link', 'set', n.hostVeth, 'up')
  inNs(n.netns, 'ip', 'link', 'set', 'lo', 'up')
  inNs(n.netns, 'ip', 'addr', 'add', `${n.nodeIp}/30`, 'dev', 'eth0')
  inNs(n.netns, 'ip', 'link', 'set', 'eth0', 'up')
  // Pods reach Services and the node through the bridge: the node routes between them.
  inNs(n.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1')
  // The node's own processes (the API server calling a webhook Service) need a route to the
  // Service range before kube-proxy's DNAT rewrites the address; a real node has its default
  // route. Through loopback: whatever kube-proxy does not rewrite never leaves the namespace.
  inNs(n.netns, 'ip', 'route', 'add', serviceCidr, 'dev', 'lo')
}

/** True when this process may lower its oom_score_adj (kubelets need it; some sandboxes refuse). */
export function canLowerOomScoreAdj(): boolean {
  try {
    execFileSync('sh', ['-c', 'echo -1 > /proc/self/oom_score_adj'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
