/** The lab's terminal table: one row per strategy, the columns a reader compares. */
import { STRATEGIES } from './strategies/index.js'
import type { Outcome } from './verify.js'

const guaranteeOf = (strategy: string): string => STRATEGIES.find((s) => s.name === strategy)?.guarantee ?? '-'

export interface Column {
  readonly title: string
  readonly value: (o: Outcome) => string
  /** A value a reader should notice (duplicates, losses). */
  readonly bad?: (o: Outcome) => boolean
}

/** The columns of the terminal table and of the report's table, in order. */
export const COLUMNS: readonly Column[] = [
  { title: 'strategy', value: (o) => o.strategy },
  { title: 'guarantee', value: (o) => guaranteeOf(o.strategy) },
  { title: 'produced', value: (o) => String(o.produced) },
  { title: 'processed', value: (o) => String(o.processed) },
  { title: 'lost', value: (o) => String(o.lost), bad: (o) => o.lost > 0 },
  { title: 'duplicated', value: (o) => (o.duplicated === 0 ? '0' : `${o.duplicated} (+${o.extraEffects})`) },
  // What a hand-off can prevent: duplicates the crash does not explain.
  { title: 'dup. graceful', value: (o) => String(o.duplicated - o.duplicatedAfterCrash), bad: (o) => o.duplicated > o.duplicatedAfterCrash },
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
    cells.map((cell, i) => (i <= 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
  const rule = widths.map((w) => '-'.repeat(w)).join('  ')
  return [line(COLUMNS.map((c) => c.title)), rule, ...rows.map(line)].join('\n')
}

/** What the less obvious columns mean, for the terminal and the report. */
export const LEGEND: readonly (readonly [string, string])[] = [
  ['guarantee', 'what the strategy promises: at-least-once may run a record twice, exactly-once shows each effect once, crashes included'],
  ['duplicated', 'records whose effect happened more than once (+ the extra effects)'],
  ['dup. graceful', 'of those, the ones no crash explains: what a safe hand-off prevents'],
  ['dup. by crash', 'records that took effect in a member before it crashed and again after'],
  ['in flight at crash', 'records the crashed member had started or finished but not committed'],
  ['rebalance ms', 'from each membership change until every partition had a live owner again'],
  ['longest pause ms', 'the longest time a partition with records left saw no effect'],
]
