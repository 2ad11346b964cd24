/**
 * A consumer group's durable form, kept beside classic groups in the coordinator's store: the group
 * epoch, the target assignment, and each member's epoch, subscription and assignment, so that after
 * a restart members heartbeat on at their epochs and no partition changes hands unconfirmed.
 * Timers are not stored: each restored member gets one session timeout to show up again.
 */
import { fromRecord, toRecord } from './assignment.js'
import { ConsumerGroup, newMember, type MemberReconcileState } from './group.js'

export interface StoredConsumerMember {
  readonly memberId: string
  readonly instanceId: string | null
  readonly rackId: string | null
  readonly clientId: string
  readonly clientHost: string
  readonly memberEpoch: number
  readonly previousMemberEpoch: number
  readonly state: MemberReconcileState
  readonly rebalanceTimeoutMs: number
  readonly subscribedTopicNames: readonly string[]
  readonly subscribedTopicRegex: string | null
  readonly serverAssignor: string | null
  readonly assigned: Record<string, number[]>
  readonly pendingRevocation: Record<string, number[]>
}

export interface StoredConsumerGroup {
  readonly groupId: string
  readonly groupEpoch: number
  readonly assignmentEpoch: number
  readonly assignorName: string
  readonly subscribedPartitions: Record<string, number>
  readonly targetAssignment: Record<string, Record<string, number[]>>
  readonly members: readonly StoredConsumerMember[]
}

export function storedConsumerGroup(group: ConsumerGroup): StoredConsumerGroup {
  return {
    groupId: group.groupId,
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    assignorName: group.assignorName,
    subscribedPartitions: Object.fromEntries(group.subscribedPartitions),
    targetAssignment: Object.fromEntries([...group.targetAssignment].map(([id, a]) => [id, toRecord(a)])),
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      instanceId: m.instanceId,
      rackId: m.rackId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberEpoch: m.memberEpoch,
      previousMemberEpoch: m.previousMemberEpoch,
      state: m.state,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      subscribedTopicNames: m.subscribedTopicNames,
      subscribedTopicRegex: m.subscribedTopicRegex,
      serverAssignor: m.serverAssignor,
      assigned: toRecord(m.assigned),
      pendingRevocation: toRecord(m.pendingRevocation),
    })),
  }
}

export function restoreConsumerGroup(stored: StoredConsumerGroup): ConsumerGroup {
  const group = new ConsumerGroup(stored.groupId)
  group.groupEpoch = stored.groupEpoch
  group.assignmentEpoch = stored.assignmentEpoch
  group.assignorName = stored.assignorName
  group.subscribedPartitions = new Map(Object.entries(stored.subscribedPartitions))
  group.targetAssignment = new Map(Object.entries(stored.targetAssignment).map(([id, r]) => [id, fromRecord(r)]))
  for (const m of stored.members) {
    group.add(newMember(m.memberId, { ...m, subscribedTopicNames: [...m.subscribedTopicNames], assigned: fromRecord(m.assigned), pendingRevocation: fromRecord(m.pendingRevocation) }))
  }
  return group
}
