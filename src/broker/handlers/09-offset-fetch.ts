/**
 * OffsetFetch, v1-9. v1-7 ask for one group; v2+ may ask for all its offsets (null topics) and
 * carry a top-level error; v8+ ask for several groups at once, each answered on its own (KIP-709).
 * With requireStable (v7+, KIP-447) a partition whose offset an open transaction is committing is
 * answered UNSTABLE_OFFSET_COMMIT, and the client retries until the transaction ends. v9 carries a
 * member id and epoch, checked for consumer groups (KIP-848: UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH).
 * Leaves out: v0 (offsets in ZooKeeper).
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { OffsetFetch, type OffsetFetchRequest, type OffsetFetchResponseInit } from '../../protocol/generated/index.js'
import { coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import { transactionCoordinatorOf } from '../transactions/broker-context.js'
import type { FetchedTopic, FetchingMember } from '../groups/offsets.js'
import { defineHandler, type RequestContext } from './handler.js'

type Wanted = readonly { name: string; partitionIndexes: number[] }[] | null

function lookup(ctx: RequestContext, groupId: string, topics: Wanted, requireStable: boolean, asking: FetchingMember | undefined): { errorCode: number; topics: FetchedTopic[] } {
  if (!coordinatesHere(ctx, groupId)) return { errorCode: KafkaErrorCode.NOT_COORDINATOR, topics: [] }
  const found = groupCoordinatorOf(ctx).fetchOffsets(groupId, topics === null ? null : topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes })), asking)
  if (!requireStable) return found
  const transactions = transactionCoordinatorOf(ctx)
  const unstable = (topic: string, partition: number): boolean => transactions.hasPendingOffset(groupId, topic, partition)
  return {
    errorCode: found.errorCode,
    topics: found.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => (unstable(t.topic, p.partition) ? { ...p, offset: -1n, errorCode: KafkaErrorCode.UNSTABLE_OFFSET_COMMIT } : p)),
    })),
  }
}

function partitionsOf(topics: FetchedTopic[]) {
  return topics.map((t) => ({
    name: t.topic,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, committedOffset: p.offset, committedLeaderEpoch: p.leaderEpoch, metadata: p.metadata, errorCode: p.errorCode })),
  }))
}

function respond(
  request: OffsetFetchRequest,
  version: number,
  answer: (groupId: string, topics: Wanted, asking?: FetchingMember) => { errorCode: number; topics: FetchedTopic[] },
): OffsetFetchResponseInit {
  if (version >= 8) {
    return {
      groups: request.groups.map((g) => {
        const result = answer(g.groupId, g.topics, version >= 9 ? { memberId: g.memberId, memberEpoch: g.memberEpoch } : undefined)
        return { groupId: g.groupId, errorCode: result.errorCode, topics: partitionsOf(result.topics) }
      }),
    }
  }
  const result = answer(request.groupId, request.topics)
  if (version >= 2 || result.errorCode === KafkaErrorCode.NONE) return { errorCode: result.errorCode, topics: partitionsOf(result.topics) }
  // v1 has no top-level error: each requested partition carries it.
  const failed = (request.topics ?? []).map((t) => ({
    name: t.name,
    partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1n, metadata: '', errorCode: result.errorCode })),
  }))
  return { topics: failed }
}

export default defineHandler({
  api: OffsetFetch,
  minVersion: 1,
  maxVersion: 9,
  handle: (request, ctx) => respond(request, ctx.version, (groupId, topics, asking) => lookup(ctx, groupId, topics, request.requireStable, asking)),
  errorResponse: (request, errorCode, ctx) => respond(request, ctx.version, () => ({ errorCode, topics: [] })),
})
