/** Helpers shared by the assignors. */
import { compareStrings, group, type TopicPartition } from '../topic-partitions.js'
import type { AssignmentInput, MemberAssignmentResult, MemberSubscription } from './types.js'

/**
 * Kafka's member order for range and round-robin: static members first, by instance id, then
 * dynamic members by member id. Ordering by instance id keeps a restarted static member's
 * partitions where they were, though its member id changed (KIP-345).
 */
export function compareMembers(a: MemberSubscription, b: MemberSubscription): number {
  if (a.groupInstanceId !== null && b.groupInstanceId !== null) return compareStrings(a.groupInstanceId, b.groupInstanceId)
  if (a.groupInstanceId !== null) return -1
  if (b.groupInstanceId !== null) return 1
  return compareStrings(a.memberId, b.memberId)
}

/** Subscribed topics that exist, per member id. */
export function existingSubscriptions(input: AssignmentInput): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  for (const m of input.members) {
    out.set(m.memberId, new Set(m.topics.filter((t) => (input.partitionsPerTopic.get(t) ?? 0) > 0)))
  }
  return out
}

export function toResults(
  input: AssignmentInput,
  assigned: ReadonlyMap<string, Iterable<TopicPartition>>,
  userData: (memberId: string) => Buffer | null = () => null,
): Map<string, MemberAssignmentResult> {
  const out = new Map<string, MemberAssignmentResult>()
  for (const m of input.members) out.set(m.memberId, { partitions: group(assigned.get(m.memberId) ?? []), userData: userData(m.memberId) })
  return out
}
