/**
 * What administrators see of consumer groups: ConsumerGroupDescribe (members with epochs,
 * subscriptions, current and target assignments), ListGroups (type "consumer", the KIP-848
 * states), and DescribeGroups, which reports a consumer group's members too, their assignments
 * in the classic consumer protocol's bytes, so tools that only speak the classic APIs still see
 * who owns what.
 */
import { KafkaErrorCode } from '../../../protocol/errors/kafka-errors.js'
import { ConsumerProtocolAssignmentCodec } from '../../../protocol/generated/index.js'
import { Writer } from '../../../protocol/primitives/writer.js'
import type { DescribedGroup, ListedGroup } from '../admin.js'
import { EMPTY_ASSIGNMENT, type Assignment } from './assignment.js'
import type { ConsumerGroup, ConsumerGroupState } from './group.js'

export interface DescribedConsumerMember {
  readonly memberId: string
  readonly instanceId: string | null
  readonly rackId: string | null
  readonly memberEpoch: number
  readonly clientId: string
  readonly clientHost: string
  readonly subscribedTopicNames: readonly string[]
  readonly subscribedTopicRegex: string | null
  readonly assignment: Assignment
  readonly targetAssignment: Assignment
}

export interface DescribedConsumerGroup {
  readonly groupId: string
  readonly errorCode: number
  readonly errorMessage: string | null
  readonly state: ConsumerGroupState | ''
  readonly groupEpoch: number
  readonly assignmentEpoch: number
  readonly assignorName: string
  readonly members: readonly DescribedConsumerMember[]
}

export function describeConsumerGroup(group: ConsumerGroup | undefined, groupId: string): DescribedConsumerGroup {
  if (group === undefined) {
    return { groupId, errorCode: KafkaErrorCode.GROUP_ID_NOT_FOUND, errorMessage: `group ${groupId} is not a consumer group`, state: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [] }
  }
  return {
    groupId,
    errorCode: KafkaErrorCode.NONE,
    errorMessage: null,
    state: group.state,
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    assignorName: group.assignorName,
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      rackId: m.rackId,
      memberEpoch: m.memberEpoch,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscribedTopicNames: m.subscribedTopicNames,
      subscribedTopicRegex: m.subscribedTopicRegex,
      assignment: m.assigned,
      targetAssignment: group.targetAssignment.get(m.memberId) ?? EMPTY_ASSIGNMENT,
    })),
  }
}

function assignmentBytes(a: Assignment): Buffer {
  const w = new Writer(64)
  w.int16(0)
  ConsumerProtocolAssignmentCodec.encode(w, { assignedPartitions: [...a].map(([topic, partitions]) => ({ topic, partitions: [...partitions] })) }, 0)
  return w.finish()
}

/** DescribeGroups' view of a consumer group. */
export function describeConsumerGroupClassically(group: ConsumerGroup): DescribedGroup {
  return {
    groupId: group.groupId,
    errorCode: KafkaErrorCode.NONE,
    state: group.state,
    protocolType: 'consumer',
    protocol: group.state === 'Stable' ? group.assignorName : '',
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      metadata: Buffer.alloc(0),
      assignment: assignmentBytes(m.assigned),
    })),
  }
}

export function listConsumerGroups(
  groups: Iterable<ConsumerGroup>,
  statesFilter: readonly string[],
  typesFilter: readonly string[],
  include: (groupId: string) => boolean,
): ListedGroup[] {
  if (typesFilter.length > 0 && !typesFilter.some((t) => t.toLowerCase() === 'consumer')) return []
  const states = new Set(statesFilter.map((s) => s.toLowerCase()))
  const listed: ListedGroup[] = []
  for (const group of groups) {
    if (!include(group.groupId)) continue
    if (states.size > 0 && !states.has(group.state.toLowerCase())) continue
    listed.push({ groupId: group.groupId, protocolType: 'consumer', state: group.state, groupType: 'consumer' })
  }
  return listed
}
