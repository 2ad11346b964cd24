/** The lab's terminal table: one row per strategy, the columns a reader compares. */
import type { Outcome } from './verify.js'

interface Column {
  title: string
  value: (o: Outcome) => string
}

const ms = (values: number[]): string => (values.length === 0 ? '-' : `${Math.max(...values)}`)

const COLUMNS: Column[] = [
  { title: 'strategy', value: (o) => o.strategy },
  { title: 'produced', value: (o) => String(o.produced) },
  { title: 'processed', value: (o) => String(o.processed) },
  { title: 'lost', value: (o) => String(o.lost) },
  { title: 'duplicated', value: (o) => (o.duplicated === 0 ? '0' : `${o.duplicated} (+${o.extraEffects})`) },
  { title: 'dup. by crash', value: (o) => String(o.duplicatedAfterCrash) },
  { title: 'in flight at crash', value: (o) => String(o.inFlightAtCrash) },
  { title: 'rebalances', value: (o) => String(o.rebalances) },
  { title: 'max rebalance ms', value: (o) => ms(o.rebalanceMs) },
  { title: 'longest pause ms', value: (o) => String(o.longestPartitionPauseMs) },
  { title: 'records/s', value: (o) => String(o.recordsPerSecond) },
]

export function renderTable(outcomes: readonly Outcome[]): string {
  const rows = outcomes.map((o) => COLUMNS.map((c) => c.value(o)))
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
  const rule = widths.map((w) => '-'.repeat(w)).join('  ')
  return [line(COLUMNS.map((c) => c.title)), rule, ...rows.map(line)].join('\n')
}
