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
import { plainMember } from './plain-consumer.js'
import type { Strategy } from './types.js'

export const commitOnRevoke: Strategy = {
  name: 'commit-on-revoke',
  summary: 'cooperative-sticky, synchronous commit in the revoke hook, in-flight work not awaited',
  createMember: (context) =>
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
}
