/**
 * The `roundrobin` assignor, computing what Kafka's RoundRobinAssignor computes: every partition of
 * every subscribed topic, topics in name order, dealt in turn to the members in member order,
 * skipping members not subscribed to the partition's topic. The turn carries over between topics.
 */
import { compareStrings, type TopicPartition } from '../topic-partitions.js'
import { compareMembers, toResults } from './common.js'
import type { AssignmentInput, MemberAssignmentResult, PartitionAssignor } from './types.js'

export function assignRoundRobin(input: AssignmentInput): Map<string, MemberAssignmentResult> {
  const assigned = new Map<string, TopicPartition[]>(input.members.map((m) => [m.memberId, []]))
  const members = [...input.members].sort(compareMembers)
  const subscribed = new Set(members.flatMap((m) => m.topics))
  const topics = [...input.partitionsPerTopic.keys()].filter((t) => subscribed.has(t)).sort(compareStrings)
  let turn = 0
  for (const topic of topics) {
    const count = input.partitionsPerTopic.get(topic) ?? 0
    for (let partition = 0; partition < count; partition++) {
      // At least one member subscribes to the topic (it is in `subscribed`), so this ends.
      while (!members[turn % members.length]!.topics.includes(topic)) turn++
      assigned.get(members[turn % members.length]!.memberId)?.push({ topic, partition })
      turn++
    }
  }
  return toResults(input, assigned)
}

export const roundRobinAssignor: PartitionAssignor = {
  name: 'roundrobin',
  protocols: ['eager'],
  assign: assignRoundRobin,
}
