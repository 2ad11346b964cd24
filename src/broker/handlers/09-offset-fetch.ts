/**
 * OffsetFetch, v1-9. v1-7 ask for one group; v2+ may ask for all its offsets (null topics) and
 * carry a top-level error; v8+ ask for several groups at once, each answered on its own (KIP-709).
 * Leaves out: v0 (offsets in ZooKeeper), and requireStable (v7+) never reports
 * UNSTABLE_OFFSET_COMMIT because no transactional offset commit is ever pending here yet. v9
 * carries a member id and epoch, checked for consumer groups (KIP-848: UNKNOWN_MEMBER_ID,
 * STALE_MEMBER_EPOCH).
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { OffsetFetch, type OffsetFetchRequest, type OffsetFetchResponseInit } from '../../protocol/generated/index.js'
import { coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import type { FetchedTopic, FetchingMember } from '../groups/offsets.js'
import { defineHandler, type RequestContext } from './handler.js'

type Wanted = readonly { name: string; partitionIndexes: number[] }[] | null

function lookup(ctx: RequestContext, groupId: string, topics: Wanted, asking: FetchingMember | undefined): { errorCode: number; topics: FetchedTopic[] } {
  if (!coordinatesHere(ctx, groupId)) return { errorCode: KafkaErrorCode.NOT_COORDINATOR, topics: [] }
  return groupCoordinatorOf(ctx).fetchOffsets(groupId, topics === null ? null : topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes })), asking)
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
  handle: (request, ctx) => respond(request, ctx.version, (groupId, topics, asking) => lookup(ctx, groupId, topics, asking)),
  errorResponse: (request, errorCode, ctx) => respond(request, ctx.version, () => ({ errorCode, topics: [] })),
})
