/**
 * `lab-report/index.html`: one self-contained page (no scripts, no external assets) with the
 * results table and, per strategy, a timeline: one row per partition, coloured by the member that
 * owned it, with duplicate effects marked where they happened.
 */
import { verdict, type ExpectedResult } from './expectations.js'
import type { Observation } from './observation.js'
import { COLUMNS, LEGEND } from './table.js'
import type { Outcome } from './verify.js'

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#bab0ac']
const ROW = 18
const LEFT = 70
const WIDTH = 900

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

function timeline(observation: Observation, partitions: number): string {
  const span = Math.max(1, observation.endMs - observation.startMs)
  const x = (ms: number): number => LEFT + ((ms - observation.startMs) / span) * (WIDTH - LEFT - 10)
  const consumers = [...new Set(observation.ownership.map((o) => o.consumerId))].sort()
  const colour = (id: string): string => PALETTE[consumers.indexOf(id) % PALETTE.length]!
  const height = partitions * ROW + 40
  const parts: string[] = []
  for (let p = 0; p < partitions; p++) {
    parts.push(`<text x="4" y="${p * ROW + 13}" class="label">p${p}</text>`)
  }
  for (const o of observation.ownership) {
    const from = x(o.fromMs)
    const to = x(o.toMs ?? observation.endMs)
    parts.push(
      `<rect x="${from.toFixed(1)}" y="${o.partition * ROW + 2}" width="${Math.max(1, to - from).toFixed(1)}" height="${ROW - 4}" fill="${colour(o.consumerId)}"><title>${escape(o.consumerId)} owns p${o.partition} ${o.fromMs}-${o.toMs ?? observation.endMs} ms</title></rect>`,
    )
  }
  // A translucent band over each rebalance, from the membership change to the group absorbing it.
  for (const r of observation.rebalances) {
    const from = x(r.startMs)
    parts.push(
      `<rect x="${from.toFixed(1)}" y="0" width="${Math.max(1, x(r.endMs) - from).toFixed(1)}" height="${partitions * ROW}" class="rb"><title>${escape(r.cause)}: rebalance took ${r.endMs - r.startMs} ms</title></rect>`,
    )
  }
  const seen = new Set<number>()
  for (const e of observation.effects) {
    if (!seen.has(e.recordId)) {
      seen.add(e.recordId)
      continue
    }
    parts.push(
      `<line x1="${x(e.atMs).toFixed(1)}" x2="${x(e.atMs).toFixed(1)}" y1="${e.partition * ROW}" y2="${e.partition * ROW + ROW}" class="dup"><title>duplicate effect of record ${e.recordId} by ${escape(e.consumerId)} at ${e.atMs} ms</title></line>`,
    )
  }
  for (const c of observation.crashes) {
    parts.push(`<line x1="${x(c.atMs).toFixed(1)}" x2="${x(c.atMs).toFixed(1)}" y1="0" y2="${partitions * ROW}" class="crash"><title>${escape(c.consumerId)} crashed</title></line>`)
  }
  parts.push(`<text x="${LEFT}" y="${height - 8}" class="label">0 ms</text>`)
  parts.push(`<text x="${WIDTH - 80}" y="${height - 8}" class="label">${span} ms</text>`)
  const legend = consumers.map((id) => `<span class="key" style="background:${colour(id)}"></span>${escape(id)}`).join(' ')
  return `<svg viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="partition ownership over time for ${escape(observation.strategy)}">${parts.join('')}</svg><p class="legend">${legend} <span class="key dupkey"></span>duplicate effect <span class="key crashkey"></span>crash <span class="key rbkey"></span>rebalance</p>`
}

export interface HtmlReportInput {
  title: string
  configuration: Record<string, unknown>
  outcomes: readonly Outcome[]
  observations: readonly Observation[]
  partitions: number
  /** One line per strategy saying what it does on a rebalance. */
  descriptions?: Readonly<Record<string, string>>
  /** Per strategy: why its row has the duplicates it has, and its expected result judged. */
  verdicts?: Readonly<Record<string, { readonly explanation: string; readonly expected: ExpectedResult }>>
}

/** The run's expected results in one line, at the top of the page. */
function verdictLine(input: HtmlReportInput): string {
  const judged = input.outcomes.flatMap((o) => {
    const v = input.verdicts?.[o.strategy]
    return v === undefined ? [] : [{ strategy: o.strategy, result: v.expected }]
  })
  return judged.length === 0 ? '' : `<p id="verdict">${escape(verdict(judged))}</p>`
}

function verdictOf(input: HtmlReportInput, strategy: string): string {
  const v = input.verdicts?.[strategy]
  if (v === undefined) return ''
  const met = v.expected.met === null ? 'not judged' : v.expected.met ? 'met' : 'NOT met'
  return `<p class="expected${v.expected.met === false ? ' missed' : ''}">Expected: ${escape(v.expected.expected)}. <strong>${met}</strong> (${escape(v.expected.detail)}).</p>`
}

export function renderHtmlReport(input: HtmlReportInput): string {
  const rows = input.outcomes.map((o) =>
    COLUMNS.map((c, i) => `<td${i > 1 ? ' class="n"' : ''}${c.bad?.(o) === true ? ' data-bad' : ''}>${escape(c.value(o))}</td>`).join(''),
  )
  const sections = input.observations.map((o) => `<section><h2>${escape(o.strategy)}</h2>${input.descriptions?.[o.strategy] === undefined ? '' : `<p>${escape(input.descriptions[o.strategy] ?? '')}</p>`}${verdictOf(input, o.strategy)}${timeline(o, input.partitions)}</section>`).join('\n')
  const why = input.verdicts === undefined ? '' : `<h2>Why each row has the duplicates it has</h2><dl class="legend">${input.outcomes.map((o) => (input.verdicts?.[o.strategy] === undefined ? '' : `<dt>${escape(o.strategy)}</dt><dd>${escape(input.verdicts[o.strategy]?.explanation ?? '')}</dd>`)).join('')}</dl>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(input.title)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px}td:first-child{white-space:nowrap}td.n{text-align:right}td[data-bad]{background:#fde2e1}
.label{font:11px monospace;fill:#555}.rb{fill:#000;opacity:.12}.dup{stroke:#d62728;stroke-width:2}.crash{stroke:#000;stroke-dasharray:4 3}
.key{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
dl.legend{display:grid;grid-template-columns:max-content auto;gap:2px 12px;font-size:13px}dl.legend dd{margin:0}
.expected{font-size:13px}.missed{color:#b00}.dupkey{background:#d62728}.rbkey{background:#000;opacity:.12}.crashkey{border-left:2px dashed #000;width:0}pre{background:#f6f6f6;padding:8px}
</style></head><body>
<h1>${escape(input.title)}</h1>
${verdictLine(input)}
<table id="results"><thead><tr>${COLUMNS.map((c) => `<th>${escape(c.title)}</th>`).join('')}</tr></thead>
<tbody>${rows.map((r) => `<tr>${r}</tr>`).join('\n')}</tbody></table>
<dl class="legend">${LEGEND.map(([term, meaning]) => `<dt>${escape(term)}</dt><dd>${escape(meaning)}</dd>`).join('')}</dl>
${why}
${sections}
<h2>Configuration</h2><pre>${escape(JSON.stringify(input.configuration, null, 2))}</pre>
</body></html>
`
}
