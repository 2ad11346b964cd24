/** Builders shared by the assignor tests. */
import type { AssignmentInput, MemberSubscription, PartitionAssignor } from '../../../src/client/membership/assignors/index.js'
import { flatten, group, type TopicPartition } from '../../../src/client/membership/topic-partitions.js'

export function member(memberId: string, topics: readonly string[], extra: Partial<MemberSubscription> = {}): MemberSubscription {
  return { memberId, groupInstanceId: null, topics, ownedPartitions: [], generationId: -1, userData: null, rackId: null, ...extra }
}

export function topicsOf(sizes: Record<string, number>): Map<string, number> {
  return new Map(Object.entries(sizes))
}

/** Runs an assignor and returns each member's partitions as `topic-partition` strings, sorted. */
export function labels(assignor: PartitionAssignor, input: AssignmentInput): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [id, a] of assignor.assign(input)) out[id] = flatten(a.partitions).map((tp) => `${tp.topic}-${tp.partition}`)
  return out
}

export function flatAssign(assignor: PartitionAssignor, input: AssignmentInput): Map<string, TopicPartition[]> {
  const out = new Map<string, TopicPartition[]>()
  for (const [id, a] of assignor.assign(input)) out.set(id, flatten(a.partitions))
  return out
}

export function owned(partitions: readonly TopicPartition[]): ReturnType<typeof group> {
  return group(partitions)
}
