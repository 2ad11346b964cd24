/**
 * `commit-on-revoke`: the report's first remedy. Cooperative-sticky rebalancing (KIP-429: only the
 * partitions that move are revoked, the others keep being processed) and a synchronous commit of
 * what is done in the revoke hook.
 *
 * What it still gets wrong: the hook does not wait for the record being handled. It commits up to
 * the last finished record, returns, and the partition moves; the handler then finishes and writes
 * its effect after the new owner has started from that very record. Fewer duplicates than `naive`
 * (only moved partitions, only their in-flight record), but not none.
 */
import { StaleGenerationError } from '../../processing/index.js'
import { crashClause, gracefulDuplicates, plural } from './explain.js'
import { plainMember } from './plain-consumer.js'
import { handlerEffects, type Strategy } from './types.js'

export const commitOnRevoke: Strategy = {
  name: 'commit-on-revoke',
  summary: 'cooperative-sticky, synchronous commit in the revoke hook, in-flight work not awaited',
  guarantee: 'at-least-once',
  expectation: { kind: 'no-loss' },
  explain: (o) =>
    `The revoke hook commits what is finished but does not wait for the record still running, which takes effect after the next owner started from it: ${plural(gracefulDuplicates(o), 'duplicate')} from the graceful changes; ${crashClause(o)}.`,
  open: handlerEffects((context) =>
    plainMember(context, {
      protocol: 'cooperative',
      onRevoke: async (revoked, consumer) => {
        const offsets = revoked.flatMap((p) => (p.processedUpTo === undefined ? [] : [{ topic: p.topic, partition: p.partition, offset: p.processedUpTo }]))
        if (offsets.length === 0) return
        try {
          await consumer.commit(offsets)
        } catch (error) {
          if (!(error instanceof StaleGenerationError)) throw error
          context.onError(error)
        }
      },
    }),
  ),
}
