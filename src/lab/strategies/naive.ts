/**
 * `naive`: the problem as reported. Manual commit after each record, eager rebalancing (range
 * assignor: every member gives up every partition at each rebalance), and no revoke hook.
 *
 * Where the duplicates come from: when a rebalance starts, each partition's current record is
 * still being handled. The member rejoins at once; the handler finishes and writes its effect, but
 * its commit is refused (the generation is gone), so the partition's next owner starts from the
 * previous commit and handles that record again. One duplicate per busy partition per rebalance.
 */
import { crashClause, gracefulDuplicates, plural } from './explain.js'
import { plainMember } from './plain-consumer.js'
import { handlerEffects, type Strategy } from './types.js'

export const naive: Strategy = {
  name: 'naive',
  summary: 'eager rebalancing, commit after each record, no revoke hook',
  guarantee: 'at-least-once',
  expectation: { kind: 'duplicates' },
  explain: (o) =>
    `Each change revokes every partition while its record is still being handled; the handler finishes, its commit is refused, and the next owner handles the record again: ${plural(gracefulDuplicates(o), 'duplicate')} from the graceful changes; ${crashClause(o)}.`,
  open: handlerEffects((context) => plainMember(context, { protocol: 'eager' })),
}
