/**
 * The `sticky` (eager, KIP-54) and `cooperative-sticky` (KIP-429) assignors. Both compute the same
 * sticky assignment; they differ in where a member's previous partitions come from and in what the
 * cooperative one withholds.
 *
 * Cooperative rebalancing lets members keep consuming what they keep, so a partition must never be
 * handed to a new member while its current owner may still be processing it. When the sticky
 * assignment moves a partition that some member claims, the cooperative assignor leaves it out of
 * everyone's assignment: the owner sees it missing, revokes it, and rejoins; the follow-up
 * rebalance then finds it unowned and assigns it.
 */
import { flatten, partitionKey, type TopicPartition } from '../topic-partitions.js'
import { existingSubscriptions, toResults } from './common.js'
import { stickyAssign, type StickyMember } from './sticky-core.js'
import {
  decodeCooperativeGeneration,
  decodeStickyUserData,
  encodeCooperativeUserData,
  encodeStickyUserData,
} from './sticky-user-data.js'
import type { AssignmentInput, AssignorMemberState, MemberAssignmentResult, MemberSubscription, PartitionAssignor } from './types.js'

function eagerOwnership(m: MemberSubscription): { owned: TopicPartition[]; generationId: number } {
  // Eager members revoked everything before joining, so their previous assignment is in user data;
  // a client that sends it in the subscription instead is read from there.
  const data = m.userData === null ? null : decodeStickyUserData(m.userData)
  if (data !== null) return { owned: flatten(data.previousAssignment), generationId: data.generationId }
  return { owned: flatten(m.ownedPartitions), generationId: m.generationId }
}

function cooperativeOwnership(m: MemberSubscription): { owned: TopicPartition[]; generationId: number } {
  let generationId = m.generationId
  if (generationId < 0 && m.userData !== null) generationId = decodeCooperativeGeneration(m.userData)
  return { owned: flatten(m.ownedPartitions), generationId }
}

function stickyMembers(input: AssignmentInput, ownership: (m: MemberSubscription) => { owned: TopicPartition[]; generationId: number }): StickyMember[] {
  const topics = existingSubscriptions(input)
  return input.members.map((m) => ({ memberId: m.memberId, topics: topics.get(m.memberId) ?? new Set(), ...ownership(m) }))
}

export function assignSticky(input: AssignmentInput): Map<string, MemberAssignmentResult> {
  return toResults(input, stickyAssign(stickyMembers(input, eagerOwnership), input.partitionsPerTopic))
}

export function assignCooperativeSticky(input: AssignmentInput): Map<string, MemberAssignmentResult> {
  const assignment = stickyAssign(stickyMembers(input, cooperativeOwnership), input.partitionsPerTopic)
  // Every claim counts here, valid or not: a member that claims a partition may still be consuming it.
  const claimedBy = new Map<string, Set<string>>()
  for (const m of input.members) {
    for (const tp of flatten(m.ownedPartitions)) {
      let owners = claimedBy.get(partitionKey(tp))
      if (owners === undefined) claimedBy.set(partitionKey(tp), (owners = new Set()))
      owners.add(m.memberId)
    }
  }
  for (const [memberId, partitions] of assignment) {
    assignment.set(
      memberId,
      partitions.filter((tp) => {
        const owners = claimedBy.get(partitionKey(tp))
        return owners === undefined || owners.has(memberId)
      }),
    )
  }
  return toResults(input, assignment)
}

export const stickyAssignor: PartitionAssignor = {
  name: 'sticky',
  protocols: ['eager'],
  subscriptionUserData(state: AssignorMemberState): Buffer | null {
    if (state.generationId < 0 && state.assigned.length === 0) return null
    return encodeStickyUserData({ previousAssignment: [...state.assigned], generationId: state.generationId })
  },
  assign: assignSticky,
}

export const cooperativeStickyAssignor: PartitionAssignor = {
  name: 'cooperative-sticky',
  // Eager as a fallback lets a group switch to this assignor with a rolling restart (KIP-429).
  protocols: ['cooperative', 'eager'],
  subscriptionUserData(state: AssignorMemberState): Buffer | null {
    return encodeCooperativeUserData(state.generationId)
  },
  assign: assignCooperativeSticky,
}
