/**
 * A consumer group under KIP-848: the group epoch, the target assignment computed at that epoch,
 * and each member's own epoch and current assignment on its way to that target.
 *
 * The group epoch moves whenever what the assignor sees changes (a member joins or leaves, a
 * subscription changes, a subscribed topic gains partitions); the target assignment is recomputed
 * at once, so the assignment epoch always equals the group epoch here. A member's epoch catches up
 * with it one heartbeat at a time (reconcile.ts).
 */
import type { CommittedOffset } from '../group.js'
import type { Timer } from '../scheduler.js'
import { EMPTY_ASSIGNMENT, has, type Assignment } from './assignment.js'

/** Kafka's names for a consumer group's states (ListGroups, ConsumerGroupDescribe). */
export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead'

/**
 * Where a member is on its way to its target: `stable` has it (or all of it that is free),
 * `unrevoked` was told to give partitions up and has not confirmed yet, `unreleased` waits for
 * partitions that another member still holds.
 */
export type MemberReconcileState = 'stable' | 'unrevoked' | 'unreleased'

/** Epoch a static member reports when it leaves meaning to come back (KIP-848). */
export const LEAVE_EPOCH = -1
export const TEMPORARY_LEAVE_EPOCH = -2

export interface ConsumerMember {
  readonly memberId: string
  instanceId: string | null
  rackId: string | null
  clientId: string
  clientHost: string
  memberEpoch: number
  previousMemberEpoch: number
  state: MemberReconcileState
  rebalanceTimeoutMs: number
  subscribedTopicNames: readonly string[]
  subscribedTopicRegex: string | null
  serverAssignor: string | null
  /** What the member owns now (as far as the coordinator has told it). */
  assigned: Assignment
  /** Partitions the member was told to revoke and has not confirmed revoking. */
  pendingRevocation: Assignment
  /** The assignment last sent in a response, to send it again only when it changes. */
  lastSent: Assignment | null
  sessionTimer: Timer | null
  rebalanceTimer: Timer | null
}

export function newMember(memberId: string, init: Partial<ConsumerMember> = {}): ConsumerMember {
  return {
    instanceId: null,
    rackId: null,
    clientId: '',
    clientHost: '',
    memberEpoch: 0,
    previousMemberEpoch: -1,
    state: 'stable',
    rebalanceTimeoutMs: 300_000,
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    serverAssignor: null,
    assigned: EMPTY_ASSIGNMENT,
    pendingRevocation: EMPTY_ASSIGNMENT,
    lastSent: null,
    sessionTimer: null,
    rebalanceTimer: null,
    ...init,
    memberId,
  }
}

export class ConsumerGroup {
  groupEpoch = 0
  assignmentEpoch = 0
  readonly members = new Map<string, ConsumerMember>()
  /** group.instance.id → the member id holding it. */
  readonly staticMembers = new Map<string, string>()
  /** member id → the partitions the assignor gave it at `assignmentEpoch`. */
  targetAssignment = new Map<string, Assignment>()
  /** Partition counts of the subscribed topics when the target was computed; a change bumps the epoch. */
  subscribedPartitions = new Map<string, number>()
  /** The server-side assignor the target was computed with. */
  assignorName = 'uniform'
  /** topic → partition → committed offset (shared shape with classic groups). */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>()

  constructor(readonly groupId: string) {}

  get state(): ConsumerGroupState {
    if (this.members.size === 0) return 'Empty'
    if (this.assignmentEpoch < this.groupEpoch) return 'Assigning'
    for (const m of this.members.values()) {
      if (m.memberEpoch === TEMPORARY_LEAVE_EPOCH) continue
      if (m.memberEpoch !== this.assignmentEpoch || m.state !== 'stable') return 'Reconciling'
    }
    return 'Stable'
  }

  /** Members that count for the assignment: all of them, including static members away for a while. */
  get isEmpty(): boolean {
    return this.members.size === 0
  }

  add(member: ConsumerMember): void {
    this.members.set(member.memberId, member)
    if (member.instanceId !== null) this.staticMembers.set(member.instanceId, member.memberId)
  }

  remove(memberId: string): ConsumerMember | undefined {
    const member = this.members.get(memberId)
    if (member === undefined) return undefined
    this.members.delete(memberId)
    this.targetAssignment.delete(memberId)
    if (member.instanceId !== null && this.staticMembers.get(member.instanceId) === memberId) this.staticMembers.delete(member.instanceId)
    member.sessionTimer?.cancel()
    member.rebalanceTimer?.cancel()
    return member
  }

  /**
   * Whether another member than `memberId` still holds the partition: owns it, or was told to
   * revoke it and has not confirmed. Only a free partition may be handed to a new owner.
   */
  heldByOther(memberId: string, topic: string, partition: number): boolean {
    for (const m of this.members.values()) {
      if (m.memberId === memberId) continue
      if (has(m.assigned, topic, partition) || has(m.pendingRevocation, topic, partition)) return true
    }
    return false
  }

  /** Topics some member subscribes to by name or through its regular expression. */
  subscribedTopics(allTopics: Iterable<string>): Set<string> {
    const out = new Set<string>()
    const patterns: RegExp[] = []
    for (const m of this.members.values()) {
      for (const t of m.subscribedTopicNames) out.add(t)
      if (m.subscribedTopicRegex !== null) patterns.push(compileTopicRegex(m.subscribedTopicRegex))
    }
    if (patterns.length > 0) for (const t of allTopics) if (patterns.some((p) => p.test(t))) out.add(t)
    return out
  }

  setOffset(topic: string, partition: number, committed: CommittedOffset): void {
    let byPartition = this.offsets.get(topic)
    if (byPartition === undefined) this.offsets.set(topic, (byPartition = new Map<number, CommittedOffset>()))
    byPartition.set(partition, committed)
  }

  offsetOf(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition)
  }

  deleteOffset(topic: string, partition: number): boolean {
    const byPartition = this.offsets.get(topic)
    if (byPartition === undefined || !byPartition.delete(partition)) return false
    if (byPartition.size === 0) this.offsets.delete(topic)
    return true
  }
}

/** Whether a member subscribes to `topic`, by name or pattern. */
export function memberSubscribes(member: ConsumerMember, topic: string): boolean {
  if (member.subscribedTopicNames.includes(topic)) return true
  return member.subscribedTopicRegex !== null && compileTopicRegex(member.subscribedTopicRegex).test(topic)
}

const compiled = new Map<string, RegExp>()

/**
 * A subscription regex matches whole topic names, as Kafka's (RE2/J `matches()`). Compiled once
 * per pattern. @throws SyntaxError for a pattern JavaScript cannot compile.
 */
export function compileTopicRegex(pattern: string): RegExp {
  let re = compiled.get(pattern)
  if (re === undefined) {
    re = new RegExp(`^(?:${pattern})$`, 'u')
    if (compiled.size > 1000) compiled.clear()
    compiled.set(pattern, re)
  }
  return re
}
