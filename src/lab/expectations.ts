/**
 * What the lab expects of each strategy, and whether a run met it: the claims the lab exists to
 * show, checked on every run and written to results.json, so that a reader (or CI) does not have to
 * compare the table's figures by hand.
 *
 * - exactly-once strategies: 0 duplicated and 0 lost, with the crash in the run;
 * - baton (at-least-once with a safe hand-off): nothing lost, fewer duplicates than `naive`;
 * - naive: still duplicates, which is the problem the lab starts from.
 */
import type { Outcome } from './verify.js'

export type Expectation =
  /** 0 duplicated and 0 lost, crashes included. */
  | { readonly kind: 'exactly-once' }
  /** 0 lost, and fewer duplicated records than the named strategy in the same run. */
  | { readonly kind: 'fewer-duplicates-than'; readonly strategy: string }
  /** At least one duplicated record: the problem as reported. */
  | { readonly kind: 'duplicates' }
  /** 0 lost; duplicates allowed. */
  | { readonly kind: 'no-loss' }

/** What the run's script did, which some expectations depend on. */
export interface RunShape {
  /** Membership changes in the script (joins, leaves, crashes). */
  readonly changes: number
  readonly crashes: number
}

export interface ExpectedResult {
  /** The expectation in words. */
  readonly expected: string
  /** Whether this run met it; null when this run cannot tell (see `detail`). */
  readonly met: boolean | null
  /** The figures it was judged on, or why it was not judged. */
  readonly detail: string
}

export function judge(expectation: Expectation, outcome: Outcome, others: readonly Outcome[], shape: RunShape): ExpectedResult {
  const figures = `${outcome.duplicated} duplicated, ${outcome.lost} lost`
  switch (expectation.kind) {
    case 'exactly-once': {
      const crash = shape.crashes > 0 ? 'with the crash in the run' : 'though this script has no crash to test it with'
      return { expected: `0 duplicated and 0 lost, ${crash}`, met: outcome.duplicated === 0 && outcome.lost === 0, detail: figures }
    }
    case 'no-loss':
      return { expected: '0 lost', met: outcome.lost === 0, detail: figures }
    case 'duplicates':
      if (shape.changes === 0) return { expected: 'duplicates', met: null, detail: 'not judged: the script changes no membership, so nothing can duplicate' }
      return { expected: 'duplicates (the problem the lab starts from)', met: outcome.duplicated > 0, detail: figures }
    case 'fewer-duplicates-than': {
      const expected = `0 lost and fewer duplicated records than ${expectation.strategy}`
      const other = others.find((o) => o.strategy === expectation.strategy)
      if (other === undefined) return { expected, met: null, detail: `not judged: ${expectation.strategy} did not run` }
      if (shape.changes === 0) return { expected, met: null, detail: 'not judged: the script changes no membership, so nothing can duplicate' }
      return {
        expected,
        met: outcome.lost === 0 && outcome.duplicated < other.duplicated,
        detail: `${figures}; ${expectation.strategy}: ${other.duplicated} duplicated`,
      }
    }
  }
}

/** The one-line verdict over every strategy of a run, for the terminal. */
export function verdict(results: readonly { readonly strategy: string; readonly result: ExpectedResult }[]): string {
  const missed = results.filter((r) => r.result.met === false)
  const unjudged = results.filter((r) => r.result.met === null)
  if (missed.length === 0) {
    const note = unjudged.length === 0 ? '' : ` (${unjudged.map((r) => r.strategy).join(', ')} not judged in this run)`
    return `expected results: all met${note}`
  }
  return `expected results: NOT met by ${missed.map((r) => `${r.strategy} (expected ${r.result.expected}; got ${r.result.detail})`).join('; ')}`
}
