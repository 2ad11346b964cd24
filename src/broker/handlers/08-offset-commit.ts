/**
 * OffsetCommit, v0-9, with Kafka's fencing (see groups/offsets.ts): generations for classic groups,
 * member epochs for consumer groups (KIP-848, v9+; STALE_MEMBER_EPOCH for another epoch).
 * v0 has no generation (a group-less commit); v1 lets the client set each commit's timestamp;
 * v7+ carries group.instance.id. Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION.
 * Leaves out: the retention time of v2-4 (offsets never expire here).
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { OffsetCommit, type OffsetCommitRequest, type OffsetCommitResponseInit } from '../../protocol/generated/index.js'
import { partitionKey } from '../../protocol/topic-partition.js'
import { coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import type { OffsetToCommit } from '../groups/offsets.js'
import { defineHandler } from './handler.js'

function allFailed(request: OffsetCommitRequest, errorCode: number): OffsetCommitResponseInit {
  return { topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) })) }
}

export default defineHandler({
  api: OffsetCommit,
  minVersion: 0,
  maxVersion: 9,
  handle: (request, ctx) => {
    if (!coordinatesHere(ctx, request.groupId)) return allFailed(request, KafkaErrorCode.NOT_COORDINATOR)
    const offsets: OffsetToCommit[] = []
    for (const t of request.topics) {
      for (const p of t.partitions) {
        if (ctx.cluster.partition(t.name, p.partitionIndex) === undefined) continue
        offsets.push({
          topic: t.name,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: p.committedLeaderEpoch,
          metadata: p.committedMetadata,
          commitTimestamp: ctx.version === 1 ? Number(p.commitTimestamp) : -1,
        })
      }
    }
    const errors = groupCoordinatorOf(ctx).commitOffsets({
      groupId: request.groupId,
      generationId: request.generationIdOrMemberEpoch,
      memberId: request.memberId,
      groupInstanceId: request.groupInstanceId,
      offsets,
      apiVersion: ctx.version,
    })
    const byPartition = new Map(offsets.map((o, i) => [partitionKey(o), errors[i]!]))
    return {
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: byPartition.get(partitionKey(t.name, p.partitionIndex)) ?? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        })),
      })),
    }
  },
  errorResponse: (request, errorCode) => allFailed(request, errorCode),
})
