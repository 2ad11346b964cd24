/**
 * The leader's part of a rebalance: decode every member's subscription, fetch partition counts for
 * all topics any member subscribes to, run the chosen assignor, and encode each member's assignment
 * for SyncGroup.
 */
import type { BatonError } from '../../protocol/errors/base.js'
import type { JoinGroupResponseJoinGroupResponseMember } from '../../protocol/generated/join-group.js'
import type { MemberAssignmentResult, MemberSubscription, PartitionAssignor, RebalanceProtocol } from './assignors/types.js'
import { decodeSubscription, encodeAssignment } from './consumer-protocol.js'
import { AssignorError, ConsumerProtocolError } from './errors.js'
import { flatten, group, partitionKey } from './topic-partitions.js'
import type { GroupMetadataSource } from './transport.js'

export interface LeaderResult {
  assignments: { memberId: string; assignment: Buffer }[]
  /** Partition counts the assignment was computed from (0 for a topic that does not exist); a change in them calls for a new rebalance. */
  partitionCounts: Map<string, number>
}

export async function leaderAssign(
  assignor: PartitionAssignor,
  members: readonly JoinGroupResponseJoinGroupResponseMember[],
  metadata: GroupMetadataSource,
  report: (error: BatonError) => void,
  protocol: RebalanceProtocol = 'eager',
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
  let result = assignor.assign({ members: subscriptions, partitionsPerTopic: partitionCounts })
  if (protocol === 'cooperative') result = withholdOwnedElsewhere(assignor.name, subscriptions, result, report)
  const assignments = subscriptions.map((s) => {
    const a = result.get(s.memberId) ?? { partitions: [], userData: null }
    return { memberId: s.memberId, assignment: encodeAssignment(a) }
  })
  // A subscribed topic that does not exist is watched as 0 partitions, so that its creation is a
  // change of partition count: the group then rebalances and the topic is consumed.
  const watched = new Map(partitionCounts)
  for (const topic of topics) if (!watched.has(topic)) watched.set(topic, 0)
  return { assignments, partitionCounts: watched }
}

/**
 * KIP-429's rule, enforced on any assignor (a user's own included): under the cooperative protocol
 * a partition still owned by one member must not be given to another in the same rebalance, or both
 * would process it until the owner revokes. Such partitions are left out and reported; the owner
 * sees them missing, revokes them, and the follow-up rebalance assigns them.
 */
function withholdOwnedElsewhere(
  name: string,
  members: readonly MemberSubscription[],
  result: Map<string, MemberAssignmentResult>,
  report: (error: BatonError) => void,
): Map<string, MemberAssignmentResult> {
  const owners = new Map<string, Set<string>>()
  for (const m of members) {
    for (const tp of flatten(m.ownedPartitions)) owners.set(partitionKey(tp), (owners.get(partitionKey(tp)) ?? new Set<string>()).add(m.memberId))
  }
  const out = new Map<string, MemberAssignmentResult>()
  for (const [memberId, assignment] of result) {
    const partitions = flatten(assignment.partitions)
    const kept = partitions.filter((tp) => owners.get(partitionKey(tp))?.has(memberId) ?? true)
    if (kept.length < partitions.length) {
      report(new AssignorError(`assignor ${JSON.stringify(name)} gave member ${JSON.stringify(memberId)} ${partitions.length - kept.length} partition(s) another member still owns; they are withheld until revoked (KIP-429)`))
    }
    out.set(memberId, { partitions: group(kept), userData: assignment.userData })
  }
  return out
}
