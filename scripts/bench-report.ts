// Renders bench/results/*.json into bench/results/summary.svg (a plot, no dependencies), the
// README's benchmark table between `<!-- bench -->` markers and its measured comparison with the
// EKS Pod Identity Agent between `<!-- vs-eks-agent -->` markers. `node scripts/bench-report.ts`
// rewrites them; test/integration/bench-report.test.ts fails when they are stale.
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
export const SVG = join(root, 'bench', 'results', 'summary.svg')
export const README = join(root, 'README.md')

type Results = Record<string, number | string>
const load = (name: string): Results =>
  JSON.parse(readFileSync(join(root, 'bench', 'results', `${name}.json`), 'utf8')) as Results
const num = (r: Results, k: string): number => {
  const v = r[k]
  if (typeof v !== 'number') throw new Error(`bench result ${k} is missing`)
  return v
}

interface Bar {
  readonly label: string
  readonly value: number
  readonly target?: number
  /** true when smaller is better (latency, memory). */
  readonly lower?: boolean
}
interface Panel {
  readonly title: string
  readonly unit: string
  readonly bars: readonly Bar[]
}

export function panels(): Panel[] {
  const s = load('sidecar')
  const b = load('broker')
  const i = load('injector')
  const c = load('scale')
  return [
    {
      title: 'Sidecar throughput at c=32 (requests/s)',
      unit: '',
      bars: [
        {
          label: 'sidecar (Node 24, one process)',
          value: num(s, 'throughput_rps_c32'),
          target: 0.5 * num(s, 'nginx_throughput_rps_c32'),
        },
        { label: 'nginx, same body (anchor)', value: num(s, 'nginx_throughput_rps_c32') },
        {
          label: 'EKS Pod Identity Agent, 2xx',
          value: num(s, 'agent_ok_rps_c32'),
        },
      ],
    },
    {
      title: 'Latency (ms)',
      unit: ' ms',
      bars: [
        { label: 'sidecar p99, c=32', value: num(s, 'p99_ms_c32'), target: 2, lower: true },
        { label: 'sidecar p99, c=1', value: num(s, 'p99_ms_c1'), lower: true },
        { label: 'sidecar p99, 500 req/s', value: num(s, 'sidecar_p99_ms_500rps'), lower: true },
        { label: 'EKS agent p99, 500 req/s', value: num(s, 'agent_p99_ms_500rps'), lower: true },
        { label: 'injector review p99', value: num(i, 'review_p99_ms'), target: 5, lower: true },
        { label: 'broker warm p99, c=32', value: num(b, 'warm_p99_ms_c32'), lower: true },
      ],
    },
    {
      title: 'Sidecar memory and start (MiB, ms)',
      unit: '',
      bars: [
        { label: 'RSS idle (MiB)', value: num(s, 'rss_idle_mb'), target: 45, lower: true },
        {
          label: 'RSS after 100k requests (MiB)',
          value: num(s, 'rss_after_100k_mb'),
          target: 45,
          lower: true,
        },
        { label: 'EKS agent RSS idle (MiB)', value: num(s, 'agent_rss_mib_idle'), lower: true },
        {
          label: 'EKS agent RSS after load (MiB)',
          value: num(s, 'agent_rss_mib_after'),
          lower: true,
        },
        {
          label: 'start to ready (ms)',
          value: num(s, 'start_to_ready_ms'),
          target: 250,
          lower: true,
        },
      ],
    },
    {
      title: 'Broker',
      unit: '',
      bars: [
        { label: 'warm requests/s, c=32', value: num(b, 'warm_rps_c32'), target: 2000 },
        {
          label: `storm: ${num(b, 'storm_pods')} pods served in (s)`,
          value: num(b, 'storm_seconds'),
          lower: true,
        },
        {
          label: 'STS calls per session-hour',
          value: num(b, 'sts_calls_per_session_hour'),
          target: 2,
          lower: true,
        },
      ],
    },
    {
      title: `Broker in a ${num(c, 'cluster_pods')}-pod cluster, ${num(c, 'injected_pods')} injected`,
      unit: '',
      bars: [
        {
          label: 'RSS steady (MiB)',
          value: num(c, 'broker_rss_mib_steady'),
          target: 256,
          lower: true,
        },
        {
          label: 'start to ready (s)',
          value: num(c, 'broker_ready_seconds'),
          target: 30,
          lower: true,
        },
        {
          label: `storm: ${num(c, 'storm_pods')} pods served in (s)`,
          value: num(c, 'storm_seconds'),
          lower: true,
        },
        {
          label: 'storm peak RSS (MiB)',
          value: num(c, 'storm_peak_rss_mib'),
          target: 512,
          lower: true,
        },
        {
          label: 'storm STS calls per session',
          value: Math.round((num(c, 'storm_sts_calls') / num(c, 'storm_sessions')) * 100) / 100,
          target: 1,
          lower: true,
        },
      ],
    },
  ]
}

const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;')

export function renderSvg(ps: readonly Panel[]): string {
  const W = 760
  const rowH = 26
  const out: string[] = []
  let y = 20
  for (const p of ps) {
    out.push(`<text x="10" y="${y}" font-size="14" font-weight="bold">${esc(p.title)}</text>`)
    y += 10
    const panelMax = Math.max(...p.bars.map((b) => Math.max(b.value, b.target ?? 0))) * 1.1
    for (const b of p.bars) {
      // Bars with a target are drawn against it (units differ within a panel); others share a scale.
      const max = b.target === undefined ? panelMax : Math.max(b.value, b.target) * 1.25
      const w = Math.max(1, Math.round((b.value / max) * 380))
      const ok =
        b.target === undefined ? undefined : b.lower ? b.value <= b.target : b.value >= b.target
      const fill = ok === undefined ? '#8a9bb0' : ok ? '#3c8d5a' : '#c0504d'
      out.push(`<text x="10" y="${y + 17}" font-size="12">${esc(b.label)}</text>`)
      out.push(`<rect x="250" y="${y + 4}" width="${w}" height="18" fill="${fill}"/>`)
      out.push(`<text x="${256 + w}" y="${y + 17}" font-size="12">${b.value}${p.unit}</text>`)
      if (b.target !== undefined) {
        const x = 250 + Math.round((b.target / max) * 380)
        out.push(
          `<line x1="${x}" y1="${y + 1}" x2="${x}" y2="${y + 25}" stroke="#222" stroke-dasharray="3,2"/>`,
        )
      }
      y += rowH
    }
    y += 18
  }
  out.push(
    `<text x="10" y="${y}" font-size="11" fill="#555">green: meets its target (dashed line); red: misses it; grey: no target. Source: bench/results/*.json</text>`,
  )
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y + 12}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${out.join('\n')}\n</svg>\n`
}

export function renderTable(ps: readonly Panel[]): string {
  const rows = ps.flatMap((p) =>
    p.bars.map((b) => {
      const target =
        b.target === undefined ? '' : `${b.lower ? '≤' : '≥'} ${Math.round(b.target * 1000) / 1000}`
      const met =
        b.target === undefined
          ? ''
          : (b.lower ? b.value <= b.target : b.value >= b.target)
            ? 'yes'
            : '**no**'
      return `| ${p.title.replace(/ \(.*\)$/, '')}: ${b.label} | ${b.value} | ${target} | ${met} |`
    }),
  )
  return [
    '![benchmark summary](bench/results/summary.svg)',
    '',
    '| Figure | Value | Target | Met |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n')
}

const PODS_PER_NODE = 30
const int = (v: number): string => Math.round(v).toLocaleString('en-US')
const mib = (v: number): string => `${Math.round(v * 10) / 10} MiB`

/**
 * The measured rows of the README's comparison, for 30 pods on a node: the sidecar is one process
 * per pod, the agent one per node. Per-node sidecar memory is 30 private parts plus one copy of
 * the Node binary's file pages, which the processes share.
 */
export function renderComparison(): string {
  const s = load('sidecar')
  const m = JSON.parse(
    readFileSync(join(root, 'bench', 'results', 'sidecar-memory.json'), 'utf8'),
  ) as Record<'idle' | 'after_100k', { total: number; anon: number; file: number }>
  const n = PODS_PER_NODE
  const ok = num(s, 'agent_ok_rps_c32')
  const perNode = (k: 'idle' | 'after_100k'): number => n * m[k].anon + m[k].file
  const rows = [
    [
      'Credential requests/s per pod (2xx)',
      `${int(num(s, 'throughput_rps_c32'))} (its own process)`,
      `${int(ok / n)} when all ${n} ask at once, ${int(ok)} for one alone (one shared process)`,
    ],
    [
      'Credential requests/s per node (2xx)',
      `up to ${int(num(s, 'throughput_rps_c32'))} per core the sidecars get (one measured; ${n} share the node's cores)`,
      `${int(ok)} (rate limit 1,000/s after a burst of 500; 429 beyond)`,
    ],
    [
      'Latency p50 / p99 at a constant 500 requests/s',
      `${num(s, 'sidecar_p50_ms_500rps')} / ${num(s, 'sidecar_p99_ms_500rps')} ms`,
      `${num(s, 'agent_p50_ms_500rps')} / ${num(s, 'agent_p99_ms_500rps')} ms`,
    ],
    [
      'Memory per pod, idle → after load',
      `${mib(m.idle.anon)} → ${mib(m.after_100k.anon)} private (RSS ${mib(num(s, 'rss_idle_mb'))} → ${mib(num(s, 'rss_after_100k_mb'))} with shared file pages)`,
      'none (no process per pod)',
    ],
    [
      `Memory per node, ${n} pods, idle → after load (every pod loaded)`,
      `${mib(perNode('idle'))} → ${mib(perNode('after_100k'))} (${n} × private + the shared file pages once)`,
      `${mib(num(s, 'agent_rss_mib_idle'))} → ${mib(num(s, 'agent_rss_mib_after'))} (RSS of its one process)`,
    ],
  ]
  return [
    `| Measured, ${n} pods on one node (\`npm run bench:sidecar\`, same run, same load tool) | iam-sidecar (one process per pod) | EKS Pod Identity Agent (one process per node) |`,
    '|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n')
}

function replaceBlock(text: string, name: string, body: string): string {
  const re = new RegExp(`(<!-- ${name} -->)[\\s\\S]*?(<!-- \\/${name} -->)`)
  if (!re.test(text)) throw new Error(`README.md lacks the <!-- ${name} --> block`)
  return text.replace(re, (_m, open: string, close: string) => `${open}\n${body}\n${close}`)
}

export function renderReadme(text: string, ps: readonly Panel[]): string {
  return replaceBlock(
    replaceBlock(text, 'bench', renderTable(ps)),
    'vs-eks-agent',
    renderComparison(),
  )
}

if (import.meta.main) {
  const ps = panels()
  writeFileSync(SVG, renderSvg(ps))
  writeFileSync(README, renderReadme(readFileSync(README, 'utf8'), ps))
  console.log('bench/results/summary.svg and the README benchmark table regenerated')
}
