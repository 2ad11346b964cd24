/**
 * The console's page: one HTML document whose module script (Preact with htm, Chart.js for the
 * charts, all served from the installed packages) follows `/events` and redraws on every snapshot.
 * Elements carry `data-testid`s that the browser test reads.
 */
import { IMPORT_MAP } from './assets.js'

const STYLE = `
  :root { font-family: system-ui, sans-serif; color: #1d2330; background: #f4f6fa; }
  body { margin: 0; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 24px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  header .meta { font-size: 13px; opacity: .8; }
  main { display: grid; grid-template-columns: 260px 1fr; gap: 16px; padding: 16px; }
  nav ul { list-style: none; padding: 0; margin: 0; }
  nav li { background: #fff; border-radius: 6px; padding: 8px 10px; margin-bottom: 8px; cursor: pointer; border: 2px solid transparent; }
  nav li.selected { border-color: #3b6fd8; }
  nav li .id { font-weight: 600; }
  nav li .sub { font-size: 12px; color: #5a6478; }
  section.card { background: #fff; border-radius: 8px; padding: 12px 16px; margin-bottom: 16px; }
  section.card h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; font-size: 13px; width: 100%; }
  th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e6e9f0; white-space: nowrap; }
  th { color: #5a6478; font-weight: 600; }
  .stats { display: flex; gap: 24px; font-size: 14px; }
  .stats b { font-size: 20px; display: block; }
  .chip { display: inline-block; padding: 1px 6px; border-radius: 4px; color: #fff; font-size: 12px; }
  .charts { display: grid; grid-template-columns: 2fr 1fr; gap: 16px; }
  .chart { position: relative; height: 240px; }
  .error { color: #b3261e; }
  .empty { color: #5a6478; }
`

const APP = `
import { h, render } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { html } from 'htm/preact'

const PALETTE = ['#3b6fd8', '#d8593b', '#2e9e6a', '#a23bd8', '#d8a53b', '#3bb8d8', '#d83b8f', '#6a7a2e']
const colorOf = (id) => { let h = 0; for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0; return PALETTE[h % PALETTE.length] }
const time = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false })
const short = (id) => id.length > 18 ? id.slice(0, 8) + '…' + id.slice(-6) : id
const fmt = (v) => v === null || v === undefined ? '-' : String(v)
const rate = (v) => v === null || v === undefined ? '-' : v.toFixed(1)

function Chart_({ testid, labels, datasets, stacked }) {
  const canvas = useRef(null)
  const chart = useRef(null)
  useEffect(() => {
    chart.current = new window.Chart(canvas.current, {
      type: 'line',
      data: { labels: [], datasets: [] },
      options: { animation: false, responsive: true, maintainAspectRatio: false, parsing: true, spanGaps: true,
        scales: { y: { beginAtZero: true, stacked: !!stacked }, x: { ticks: { maxTicksLimit: 8 } } },
        elements: { point: { radius: 0 } }, plugins: { legend: { position: 'bottom', labels: { boxWidth: 10 } } } },
    })
    return () => chart.current.destroy()
  }, [])
  useEffect(() => {
    const c = chart.current
    c.data.labels = labels
    c.data.datasets = datasets
    c.update('none')
    canvas.current.dataset.datasets = String(datasets.length)
    canvas.current.dataset.points = String(labels.length)
  }, [labels, datasets])
  return html\`<div class="chart"><canvas data-testid=\${testid} ref=\${canvas}></canvas></div>\`
}

function Members({ group }) {
  const members = group.current.members
  if (members.length === 0) return html\`<p class="empty" data-testid="members-empty">No members.</p>\`
  return html\`<table data-testid="members"><thead><tr><th>member</th><th>client id</th><th>host</th><th>assignment</th></tr></thead><tbody>
    \${members.map((m) => html\`<tr data-member=\${m.memberId}><td><span class="chip" style=\${'background:' + colorOf(m.memberId)}>\${short(m.memberId)}</span></td>
      <td>\${m.clientId}</td><td>\${m.clientHost}</td><td data-testid="assignment">\${m.assignment.map((tp) => tp.topic + '-' + tp.partition).join(', ') || '(none)'}</td></tr>\`)}
  </tbody></table>\`
}

function Partitions({ group }) {
  return html\`<table data-testid="partitions"><thead><tr><th>partition</th><th>owner</th><th>committed</th><th>end</th><th>lag</th></tr></thead><tbody>
    \${group.current.partitions.map((p) => html\`<tr data-partition=\${p.topic + '-' + p.partition}><td>\${p.topic}-\${p.partition}</td>
      <td>\${p.memberId ? html\`<span class="chip" style=\${'background:' + colorOf(p.memberId)}>\${p.clientId}</span>\` : '-'}</td>
      <td>\${fmt(p.committedOffset)}</td><td>\${fmt(p.endOffset)}</td><td data-testid="lag">\${fmt(p.lag)}</td></tr>\`)}
  </tbody></table>\`
}

function Timeline({ group }) {
  const keys = [...new Set(group.rebalances.flatMap((r) => Object.keys(r.ownership)).concat(group.current.partitions.map((p) => p.topic + '-' + p.partition)))].sort()
  const clientOf = (r, id) => (r.members.find((m) => m.memberId === id) || {}).clientId || short(id)
  return html\`<table data-testid="rebalances"><thead><tr><th>generation</th><th>at</th><th>state</th><th>members</th>\${keys.map((k) => html\`<th>\${k}</th>\`)}</tr></thead><tbody>
    \${group.rebalances.slice().reverse().map((r) => html\`<tr data-generation=\${r.generation}><td>\${r.observed ? 'rebalance #' : 'epoch '}\${r.generation}</td><td>\${time(r.at)}</td><td>\${r.state}</td><td>\${r.members.length}</td>
      \${keys.map((k) => r.ownership[k] ? html\`<td><span class="chip" data-owner=\${r.ownership[k]} style=\${'background:' + colorOf(r.ownership[k])}>\${clientOf(r, r.ownership[k])}</span></td>\` : html\`<td>-</td>\`)}</tr>\`)}
  </tbody></table>\`
}

function Group({ group }) {
  const last = group.samples[group.samples.length - 1] || {}
  const labels = group.samples.map((s) => time(s.at))
  const keys = [...new Set(group.samples.flatMap((s) => Object.keys(s.lag)))].sort()
  const lagSets = keys.map((k, i) => ({ label: k, data: group.samples.map((s) => s.lag[k] ?? null), borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length] + '33', fill: true, borderWidth: 1.5 }))
  const rateSets = [
    { label: 'in (records/s)', data: group.samples.map((s) => s.recordsInPerSec), borderColor: '#3b6fd8', borderWidth: 1.5 },
    { label: 'out (records/s)', data: group.samples.map((s) => s.recordsOutPerSec), borderColor: '#2e9e6a', borderWidth: 1.5 },
  ]
  return html\`<div data-testid="group" data-group=\${group.groupId}>
    <section class="card"><h2>\${group.groupId}</h2><div class="stats">
      <div>state<b data-testid="group-state">\${group.current.state}</b></div>
      <div>protocol<b data-testid="group-protocol">\${group.current.protocol}</b></div>
      <div>members<b data-testid="member-count">\${group.current.members.length}</b></div>
      <div>total lag<b data-testid="total-lag">\${fmt(group.current.totalLag)}</b></div>
      <div>in<b data-testid="rate-in">\${rate(last.recordsInPerSec)}</b></div>
      <div>out<b data-testid="rate-out">\${rate(last.recordsOutPerSec)}</b></div>
      <div>rebalances<b data-testid="rebalance-count">\${group.rebalances.length}</b></div>
    </div></section>
    <section class="card"><h2>Members and assignment</h2><\${Members} group=\${group} /></section>
    <div class="charts">
      <section class="card"><h2>Lag per partition</h2><\${Chart_} testid="lag-chart" labels=\${labels} datasets=\${lagSets} stacked=\${true} /></section>
      <section class="card"><h2>Records per second</h2><\${Chart_} testid="rate-chart" labels=\${labels} datasets=\${rateSets} /></section>
    </div>
    <section class="card"><h2>Partitions</h2><\${Partitions} group=\${group} /></section>
    <section class="card"><h2>Rebalances and partition ownership</h2><\${Timeline} group=\${group} /></section>
  </div>\`
}

function App() {
  const [snapshot, setSnapshot] = useState(null)
  const [connected, setConnected] = useState(false)
  const [selected, setSelected] = useState(decodeURIComponent(location.hash.slice(1)))
  useEffect(() => {
    const events = new EventSource('/events')
    events.addEventListener('snapshot', (e) => { setSnapshot(JSON.parse(e.data)); setConnected(true) })
    events.onerror = () => setConnected(false)
    return () => events.close()
  }, [])
  useEffect(() => { const f = () => setSelected(decodeURIComponent(location.hash.slice(1))); addEventListener('hashchange', f); return () => removeEventListener('hashchange', f) }, [])
  const groups = snapshot ? snapshot.groups : []
  const group = groups.find((g) => g.groupId === selected) || groups[0]
  return html\`<header><h1>baton console</h1>
      <span class="meta" data-testid="bootstrap">\${snapshot ? snapshot.bootstrap.join(',') : ''}</span>
      <span class="meta" data-testid="connection">\${connected ? 'live' : 'connecting…'}\${snapshot && snapshot.at ? ' · updated ' + time(snapshot.at) : ''}</span>
      \${snapshot && snapshot.error ? html\`<span class="meta error" data-testid="error">\${snapshot.error}</span>\` : ''}</header>
    <main><nav><ul data-testid="groups">\${groups.map((g) => html\`<li data-group=\${g.groupId} class=\${group && g.groupId === group.groupId ? 'selected' : ''} onClick=\${() => { location.hash = encodeURIComponent(g.groupId) }}>
        <div class="id">\${g.groupId}</div><div class="sub">\${g.current.state} · \${g.current.members.length} member(s) · lag \${fmt(g.current.totalLag)}</div></li>\`)}</ul>
      \${groups.length === 0 ? html\`<p class="empty" data-testid="no-groups">\${snapshot ? 'No consumer groups yet.' : 'Loading…'}</p>\` : ''}</nav>
      <div>\${group ? html\`<\${Group} key=\${group.groupId} group=\${group} />\` : ''}</div></main>\`
}

render(html\`<\${App} />\`, document.getElementById('app'))
`

export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>baton console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style>
<script type="importmap">${JSON.stringify(IMPORT_MAP)}</script>
<script src="/assets/chart.umd.js"></script>
</head><body><div id="app"></div>
<script type="module">${APP}</script>
</body></html>
`
