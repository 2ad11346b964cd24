/**
 * The `range` assignor, computing what Kafka's RangeAssignor computes without rack information:
 * topic by topic, the subscribers in member order each take a contiguous range, the first
 * `partitions % members` of them one partition more. Co-partitioned topics thus land together.
 */
import type { TopicPartition } from '../topic-partitions.js'
import { compareMembers, toResults } from './common.js'
import type { AssignmentInput, MemberAssignmentResult, PartitionAssignor } from './types.js'

export function assignRange(input: AssignmentInput): Map<string, MemberAssignmentResult> {
  const assigned = new Map<string, TopicPartition[]>(input.members.map((m) => [m.memberId, []]))
  const members = [...input.members].sort(compareMembers)
  for (const [topic, count] of input.partitionsPerTopic) {
    const subscribers = members.filter((m) => m.topics.includes(topic))
    if (subscribers.length === 0 || count <= 0) continue
    const base = Math.floor(count / subscribers.length)
    const extra = count % subscribers.length
    subscribers.forEach((m, i) => {
      const start = base * i + Math.min(i, extra)
      const length = base + (i < extra ? 1 : 0)
      const list = assigned.get(m.memberId)
      for (let p = start; p < start + length; p++) list?.push({ topic, partition: p })
    })
  }
  return toResults(input, assigned)
}

export const rangeAssignor: PartitionAssignor = {
  name: 'range',
  protocols: ['eager'],
  assign: assignRange,
}
