/** The lab's terminal table: one row per strategy, the columns a reader compares. */
import type { Outcome } from './verify.js'

export interface Column {
  readonly title: string
  readonly value: (o: Outcome) => string
  /** A value a reader should notice (duplicates, losses). */
  readonly bad?: (o: Outcome) => boolean
}

/** The columns of the terminal table and of the report's table, in order. */
export const COLUMNS: readonly Column[] = [
  { title: 'strategy', value: (o) => o.strategy },
  { title: 'produced', value: (o) => String(o.produced) },
  { title: 'processed', value: (o) => String(o.processed) },
  { title: 'lost', value: (o) => String(o.lost), bad: (o) => o.lost > 0 },
  { title: 'duplicated', value: (o) => (o.duplicated === 0 ? '0' : `${o.duplicated} (+${o.extraEffects})`), bad: (o) => o.duplicated > o.duplicatedAfterCrash },
  { title: 'dup. by crash', value: (o) => String(o.duplicatedAfterCrash) },
  { title: 'in flight at crash', value: (o) => String(o.inFlightAtCrash) },
  { title: 'rebalances', value: (o) => String(o.rebalances) },
  // Each rebalance in order: the initial assignment, then one per scripted change.
  { title: 'rebalance ms (each)', value: (o) => (o.rebalanceMs.length === 0 ? '-' : o.rebalanceMs.join('/')) },
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
