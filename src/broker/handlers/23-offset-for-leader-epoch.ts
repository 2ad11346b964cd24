/**
 * OffsetForLeaderEpoch, v0-4 (KIP-101, KIP-320): the end offset of a leader epoch on this
 * partition's leader, from the partition's epoch history. Clients ask it after a leader change to
 * validate their position; the current leader epoch they send is checked like Fetch's.
 * Leaves out: follower semantics of replicaId (every caller is answered as a consumer).
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { OffsetForLeaderEpoch, type OffsetForLeaderEpochRequestOffsetForLeaderPartition } from '../../protocol/generated/index.js'
import type { Topic } from '../cluster.js'
import { defineHandler, leaderPartition, type RequestContext } from './handler.js'

function endOffset(topic: Topic | undefined, p: OffsetForLeaderEpochRequestOffsetForLeaderPartition, ctx: RequestContext) {
  const base = { partition: p.partition, leaderEpoch: -1, endOffset: -1n }
  const partition = leaderPartition(ctx, topic, p.partition)
  if (typeof partition === 'number') return { ...base, errorCode: partition }
  if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch !== partition.leaderEpoch) {
    const errorCode = p.currentLeaderEpoch > partition.leaderEpoch ? KafkaErrorCode.UNKNOWN_LEADER_EPOCH : KafkaErrorCode.FENCED_LEADER_EPOCH
    return { ...base, errorCode }
  }
  const found = partition.epochs.endOffsetFor(p.leaderEpoch, partition.log.logEndOffset)
  return { partition: p.partition, errorCode: 0, leaderEpoch: found.leaderEpoch, endOffset: BigInt(found.endOffset) }
}

export default defineHandler({
  api: OffsetForLeaderEpoch,
  minVersion: 0,
  maxVersion: 4,
  handle: (request, ctx) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((t) => {
      const topic = ctx.cluster.topic(t.topic)
      return { topic: t.topic, partitions: t.partitions.map((p) => endOffset(topic, p, ctx)) }
    }),
  }),
  errorResponse: (request, errorCode) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode, leaderEpoch: -1, endOffset: -1n })) })),
  }),
})
