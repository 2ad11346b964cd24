/** Phrases the strategies' report sentences share: the graceful and the crash part of a row's duplicates. */
import type { Outcome } from '../verify.js'

export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/** Duplicates no crash explains: what the graceful joins and leaves cost. */
export function gracefulDuplicates(o: Outcome): number {
  return o.duplicated - o.duplicatedAfterCrash
}

/** How an at-least-once row's crash shows: records done but not committed, run again by the next owner. */
export function crashClause(o: Outcome): string {
  if (o.crashes === 0) return 'the run had no crash'
  if (o.inFlightAtCrash === 0) return 'the crash found nothing started and uncommitted, so it duplicated nothing'
  if (o.duplicatedAfterCrash === 0) return `the crash duplicated nothing: none of the ${plural(o.inFlightAtCrash, 'record')} its member had started and not committed had taken effect yet`
  return `the crash cost ${plural(o.duplicatedAfterCrash, 'duplicate')}: of the ${plural(o.inFlightAtCrash, 'record')} its member had started and not committed, ${o.duplicatedAfterCrash} had taken effect and ran again on the next owner`
}
