/**
 * The leader's part of a rebalance: decode every member's subscription, fetch partition counts for
 * all topics any member subscribes to, run the chosen assignor, and encode each member's assignment
 * for SyncGroup.
 */
import type { BatonError } from '../../protocol/errors/base.js'
import type { JoinGroupResponseJoinGroupResponseMember } from '../../protocol/generated/join-group.js'
import type { MemberSubscription, PartitionAssignor } from './assignors/types.js'
import { decodeSubscription, encodeAssignment } from './consumer-protocol.js'
import { AssignorError, ConsumerProtocolError } from './errors.js'
import type { GroupMetadataSource } from './transport.js'

export interface LeaderResult {
  assignments: { memberId: string; assignment: Buffer }[]
  /** Partition counts the assignment was computed from; a change in them calls for a new rebalance. */
  partitionCounts: Map<string, number>
}

export async function leaderAssign(
  assignor: PartitionAssignor,
  members: readonly JoinGroupResponseJoinGroupResponseMember[],
  metadata: GroupMetadataSource,
  report: (error: BatonError) => void,
): Promise<LeaderResult> {
  const subscriptions = members.map((m): MemberSubscription => {
    try {
      const s = decodeSubscription(m.metadata)
      return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, ...s }
    } catch (err) {
      if (!(err instanceof ConsumerProtocolError)) throw err
      // One member with unreadable metadata must not stall the whole group: it gets nothing and is told why.
      report(new AssignorError(`member ${JSON.stringify(m.memberId)} sent a subscription that cannot be decoded; it gets no partitions`, { cause: err }))
      return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, topics: [], ownedPartitions: [], generationId: -1, userData: null, rackId: null }
    }
  })
  const topics = [...new Set(subscriptions.flatMap((s) => s.topics))]
  const partitionCounts = await metadata.partitionCounts(topics)
  const result = assignor.assign({ members: subscriptions, partitionsPerTopic: partitionCounts })
  const assignments = subscriptions.map((s) => {
    const a = result.get(s.memberId) ?? { partitions: [], userData: null }
    return { memberId: s.memberId, assignment: encodeAssignment(a) }
  })
  return { assignments, partitionCounts }
}
