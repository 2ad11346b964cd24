/** Phrases the strategies' report sentences share: the graceful and the crash part of a row's duplicates. */
import type { Outcome } from '../verify.js'

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/** Duplicates no crash explains: what the graceful joins and leaves cost. */
export function gracefulDuplicates(o: Outcome): number {
  return o.duplicated - o.duplicatedAfterCrash
}

/** How an at-least-once row's crash shows: records done but not committed, run again by the next owner. */
export function crashClause(o: Outcome): string {
  if (o.inFlightAtCrash === 0 && o.duplicatedAfterCrash === 0) return 'the run had no crash, or the crashed member had nothing uncommitted'
  return `the crash cost ${plural(o.duplicatedAfterCrash, 'duplicate')}: its member had ${plural(o.inFlightAtCrash, 'record')} started or done but not committed, and the next owner ran the done ones again`
}
