/**
 * The consumer group coordinator of KIP-848: ConsumerGroupHeartbeat (join, heartbeat, leave) for
 * groups of type "consumer", their sessions and rebalance timeouts, and the target assignment.
 *
 * Each heartbeat: check the member's epoch, apply what changed in its subscription, bump the group
 * epoch and recompute the target if what the assignor sees changed (members, subscriptions,
 * partition counts of subscribed topics, checked on every heartbeat so that a topic's new
 * partitions or a topic newly matching a regex are picked up), then move the member toward its
 * target (reconcile.ts) and answer with its epoch and, when it changed, its assignment.
 *
 * Classic groups live beside these in the same coordinator; a group id belongs to one type at a
 * time. An empty group of either type converts to the other when a member of the other protocol
 * arrives, keeping its offsets (Kafka 4's conversion of empty groups). A classic group with
 * members is not converted: Kafka 4 does that online by letting classic members stay in a
 * consumer group through JoinGroup/SyncGroup translated onto the new protocol, which is not
 * implemented here; the member is refused with GROUP_ID_NOT_FOUND, as Kafka does when the
 * upgrade does not apply.
 */
import { randomUUID } from 'node:crypto'
import { KafkaErrorCode } from '../../../protocol/errors/kafka-errors.js'
import type { GroupCoordinatorConfig } from '../config.js'
import type { ClassicGroup } from '../group.js'
import type { GroupStore } from '../store.js'
import { EMPTY_ASSIGNMENT, sameAssignment, type Assignment } from './assignment.js'
import { assign, DEFAULT_ASSIGNOR, isAssignor, type AssignorName } from './assignors.js'
import { compileTopicRegex, ConsumerGroup, LEAVE_EPOCH, memberSubscribes, newMember, TEMPORARY_LEAVE_EPOCH, type ConsumerMember } from './group.js'
import { storedConsumerGroup } from './persist.js'
import { reconcile } from './reconcile.js'

/** What the coordinator needs to know of the cluster's topics. */
export interface TopicView {
  partitionCount(topic: string): number | undefined
  names(): Iterable<string>
}

export const NO_TOPICS: TopicView = { partitionCount: () => undefined, names: () => [] }

export interface ConsumerHeartbeatRequest {
  readonly groupId: string
  readonly memberId: string
  readonly memberEpoch: number
  readonly instanceId: string | null
  readonly rackId: string | null
  readonly rebalanceTimeoutMs: number
  readonly subscribedTopicNames: readonly string[] | null
  readonly subscribedTopicRegex: string | null
  readonly serverAssignor: string | null
  /** Owned partitions as reported (topic ids resolved to names by the handler), or null when unchanged. */
  readonly owned: Assignment | null
  readonly clientId: string
  readonly clientHost: string
}

export interface ConsumerHeartbeatResult {
  readonly errorCode: number
  readonly errorMessage: string | null
  readonly memberId: string | null
  readonly memberEpoch: number
  readonly heartbeatIntervalMs: number
  /** The member's assignment, or null when it has not changed since the last answer. */
  readonly assignment: Assignment | null
}

export interface ConsumerCoordinatorState {
  readonly config: GroupCoordinatorConfig
  readonly store: GroupStore
  readonly classicGroups: Map<string, ClassicGroup>
  readonly consumerGroups: Map<string, ConsumerGroup>
  topics: TopicView
}

const E = KafkaErrorCode

export class ConsumerGroupCoordinator {
  private readonly savedForm = new Map<string, string>()

  constructor(private readonly s: ConsumerCoordinatorState) {}

  heartbeat(req: ConsumerHeartbeatRequest): ConsumerHeartbeatResult {
    const interval = this.s.config.consumerHeartbeatIntervalMs
    const fail = (errorCode: number, errorMessage: string | null = null): ConsumerHeartbeatResult => ({
      errorCode,
      errorMessage,
      memberId: null,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
      assignment: null,
    })
    const invalid = validate(req)
    if (invalid !== null) return fail(invalid.code, invalid.message)
    if (req.memberEpoch === LEAVE_EPOCH || req.memberEpoch === TEMPORARY_LEAVE_EPOCH) return this.leave(req)

    const group = this.groupFor(req.groupId, req.memberEpoch === 0)
    if (typeof group === 'number') return fail(group, group === E.GROUP_ID_NOT_FOUND ? `group ${req.groupId} is a classic group with members; it cannot take members of the consumer protocol` : null)

    let member: ConsumerMember
    let bump = false
    if (req.memberEpoch === 0) {
      const joined = this.join(group, req)
      if (typeof joined === 'number') return fail(joined)
      ;({ member, bump } = joined)
    } else {
      const found = group.members.get(req.memberId)
      if (found === undefined) return fail(E.UNKNOWN_MEMBER_ID)
      if (req.instanceId !== null && group.staticMembers.get(req.instanceId) !== req.memberId) return fail(E.FENCED_INSTANCE_ID)
      const fenced = epochProblem(found, req)
      if (fenced !== null) return fail(fenced)
      member = found
    }
    bump = this.applySubscription(member, req) || bump
    member.clientId = req.clientId
    member.clientHost = req.clientHost
    if (req.rackId !== null) member.rackId = req.rackId
    this.armSession(group, member, this.s.config.consumerSessionTimeoutMs)
    if (bump || this.metadataChanged(group)) this.bumpAndAssign(group)
    const { startedRevoking } = reconcile(group, member, req.memberEpoch === 0 ? EMPTY_ASSIGNMENT : req.owned)
    if (startedRevoking) this.armRebalance(group, member)
    const changed = member.lastSent === null || !sameAssignment(member.lastSent, member.assigned) || (req.owned !== null && !sameAssignment(req.owned, member.assigned))
    if (changed) member.lastSent = member.assigned
    this.save(group)
    return {
      errorCode: E.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: interval,
      assignment: changed ? member.assigned : null,
    }
  }

  /** Stops every session and rebalance timer (the broker is stopping). */
  close(): void {
    for (const group of this.s.consumerGroups.values()) {
      for (const m of group.members.values()) {
        m.sessionTimer?.cancel()
        m.rebalanceTimer?.cancel()
      }
    }
  }

  /** Re-arms sessions of members restored from the store: each has one session timeout to come back. */
  restored(group: ConsumerGroup): void {
    for (const m of group.members.values()) this.armSession(group, m, this.s.config.consumerSessionTimeoutMs)
    this.savedForm.set(group.groupId, JSON.stringify(storedConsumerGroup(group)))
  }

  /** Removes an empty consumer group's metadata (its offsets stay with the group id). */
  forget(groupId: string): void {
    this.s.consumerGroups.delete(groupId)
    this.savedForm.delete(groupId)
    this.s.store.deleteConsumerGroup(groupId)
  }

  private groupFor(groupId: string, create: boolean): ConsumerGroup | number {
    const existing = this.s.consumerGroups.get(groupId)
    if (existing !== undefined) return existing
    if (!create) return E.UNKNOWN_MEMBER_ID
    const classic = this.s.classicGroups.get(groupId)
    if (classic !== undefined && (classic.hasMembers || classic.pendingMembers.size > 0)) return E.GROUP_ID_NOT_FOUND
    const group = new ConsumerGroup(groupId)
    if (classic !== undefined) {
      // An empty classic group (offsets only) becomes a consumer group and keeps its offsets.
      for (const [topic, partitions] of classic.offsets) for (const [p, c] of partitions) group.setOffset(topic, p, c)
      classic.joinTimer?.cancel()
      this.s.classicGroups.delete(groupId)
    }
    this.s.consumerGroups.set(groupId, group)
    return group
  }

  private join(group: ConsumerGroup, req: ConsumerHeartbeatRequest): { member: ConsumerMember; bump: boolean } | number {
    if (group.members.size >= this.s.config.maxGroupSize && !group.members.has(req.memberId)) return E.GROUP_MAX_SIZE_REACHED
    const memberId = req.memberId.length > 0 ? req.memberId : randomUUID()
    if (req.instanceId !== null) {
      const previousId = group.staticMembers.get(req.instanceId)
      const previous = previousId === undefined ? undefined : group.members.get(previousId)
      if (previous !== undefined) {
        if (previous.memberEpoch !== TEMPORARY_LEAVE_EPOCH && previous.memberId !== memberId) return E.UNRELEASED_INSTANCE_ID
        if (previous.memberEpoch === TEMPORARY_LEAVE_EPOCH) {
          // The static member is back: the new member id takes over its assignment and epoch, no rebalance.
          group.remove(previous.memberId)
          const target = group.targetAssignment.get(previous.memberId)
          const member = newMember(memberId, {
            ...previous,
            memberEpoch: previous.previousMemberEpoch,
            sessionTimer: null,
            rebalanceTimer: null,
            lastSent: null,
          })
          group.add(member)
          if (target !== undefined) group.targetAssignment.set(memberId, target)
          return { member, bump: false }
        }
      }
    }
    const existing = group.members.get(memberId)
    if (existing !== undefined) {
      // Rejoining with epoch 0 (after a fencing) means the member owns nothing: start it afresh.
      const target = group.targetAssignment.get(memberId)
      group.remove(memberId)
      const member = newMember(memberId, { ...existing, memberEpoch: 0, previousMemberEpoch: -1, assigned: EMPTY_ASSIGNMENT, pendingRevocation: EMPTY_ASSIGNMENT, state: 'stable', lastSent: null, sessionTimer: null, rebalanceTimer: null })
      group.add(member)
      if (target !== undefined) group.targetAssignment.set(memberId, target)
      return { member, bump: target === undefined }
    }
    const member = newMember(memberId, { instanceId: req.instanceId })
    group.add(member)
    return { member, bump: true }
  }

  private leave(req: ConsumerHeartbeatRequest): ConsumerHeartbeatResult {
    const group = this.s.consumerGroups.get(req.groupId)
    const member = group?.members.get(req.memberId)
    const answer = (errorCode: number): ConsumerHeartbeatResult => ({ errorCode, errorMessage: null, memberId: req.memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: 0, assignment: null })
    if (group === undefined || member === undefined) return answer(E.UNKNOWN_MEMBER_ID)
    if (req.memberEpoch === TEMPORARY_LEAVE_EPOCH && member.instanceId !== null) {
      // A static member away for a while keeps its assignment for one session timeout (KIP-848).
      member.previousMemberEpoch = member.memberEpoch === TEMPORARY_LEAVE_EPOCH ? member.previousMemberEpoch : member.memberEpoch
      member.memberEpoch = TEMPORARY_LEAVE_EPOCH
      member.rebalanceTimer?.cancel()
      this.armSession(group, member, this.s.config.consumerSessionTimeoutMs)
      this.save(group)
      return answer(E.NONE)
    }
    this.removeMember(group, member.memberId)
    return answer(E.NONE)
  }

  /** Removes a member (left, expired or fenced) and reassigns what it had. */
  removeMember(group: ConsumerGroup, memberId: string): void {
    if (group.remove(memberId) === undefined) return
    this.bumpAndAssign(group)
    this.save(group)
  }

  private applySubscription(member: ConsumerMember, req: ConsumerHeartbeatRequest): boolean {
    let changed = false
    if (req.rebalanceTimeoutMs >= 0) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs
    if (req.subscribedTopicNames !== null && !sameList(req.subscribedTopicNames, member.subscribedTopicNames)) {
      member.subscribedTopicNames = [...req.subscribedTopicNames].sort()
      changed = true
    }
    // An empty regex means "no regex" (clients send it beside topic names).
    const regex = req.subscribedTopicRegex === '' ? null : req.subscribedTopicRegex
    if (req.subscribedTopicRegex !== null && regex !== member.subscribedTopicRegex) {
      member.subscribedTopicRegex = regex
      changed = true
    }
    if (req.serverAssignor !== null && req.serverAssignor !== member.serverAssignor) {
      member.serverAssignor = req.serverAssignor
      changed = true
    }
    return changed
  }

  /** Whether the subscribed topics or their partition counts differ from those of the target. */
  private metadataChanged(group: ConsumerGroup): boolean {
    const now = this.partitionCounts(group)
    if (now.size !== group.subscribedPartitions.size) return true
    for (const [topic, count] of now) if (group.subscribedPartitions.get(topic) !== count) return true
    return false
  }

  private partitionCounts(group: ConsumerGroup): Map<string, number> {
    const counts = new Map<string, number>()
    for (const topic of group.subscribedTopics(this.s.topics.names())) {
      const count = this.s.topics.partitionCount(topic)
      if (count !== undefined) counts.set(topic, count)
    }
    return counts
  }

  /** A new group epoch and the target assignment at it. */
  private bumpAndAssign(group: ConsumerGroup): void {
    group.groupEpoch++
    group.subscribedPartitions = this.partitionCounts(group)
    group.assignorName = chooseAssignor(group)
    const members = [...group.members.values()].map((m) => ({ memberId: m.memberId, subscribes: (topic: string) => memberSubscribes(m, topic) }))
    group.targetAssignment = assign(group.assignorName as AssignorName, { members, partitionCounts: group.subscribedPartitions, previous: group.targetAssignment })
    group.assignmentEpoch = group.groupEpoch
  }

  private armSession(group: ConsumerGroup, member: ConsumerMember, timeoutMs: number): void {
    member.sessionTimer?.cancel()
    member.sessionTimer = this.s.config.scheduler.schedule(timeoutMs, () => {
      if (group.members.get(member.memberId) === member) this.removeMember(group, member.memberId)
    })
  }

  /** A member that does not confirm a revocation within its rebalance timeout is removed (fenced). */
  private armRebalance(group: ConsumerGroup, member: ConsumerMember): void {
    member.rebalanceTimer?.cancel()
    member.rebalanceTimer = this.s.config.scheduler.schedule(member.rebalanceTimeoutMs, () => {
      if (group.members.get(member.memberId) === member && member.state === 'unrevoked') this.removeMember(group, member.memberId)
    })
  }

  private save(group: ConsumerGroup): void {
    if (!this.s.store.persistent) return
    const stored = storedConsumerGroup(group)
    const form = JSON.stringify(stored)
    if (this.savedForm.get(group.groupId) === form) return
    this.savedForm.set(group.groupId, form)
    this.s.store.saveConsumerGroup(stored)
  }
}

/** The assignor most members ask for; the default when none asks. */
function chooseAssignor(group: ConsumerGroup): string {
  const votes = new Map<string, number>()
  for (const m of group.members.values()) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1)
  let best: string = DEFAULT_ASSIGNOR
  let most = 0
  for (const [name, n] of [...votes].sort(([a], [b]) => (a < b ? -1 : 1))) if (n > most) [best, most] = [name, n]
  return best
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  const sorted = [...a].sort()
  return sorted.every((t, i) => t === b[i])
}

function validate(req: ConsumerHeartbeatRequest): { code: number; message: string } | null {
  const bad = (message: string) => ({ code: E.INVALID_REQUEST, message })
  if (req.groupId.length === 0) return { code: E.INVALID_GROUP_ID, message: 'the group id must not be empty' }
  if (req.memberEpoch < TEMPORARY_LEAVE_EPOCH) return bad(`member epoch ${req.memberEpoch} is not valid`)
  if (req.memberEpoch !== 0 && req.memberId.length === 0) return bad('the member id must be given with a member epoch other than 0')
  if (req.memberEpoch === TEMPORARY_LEAVE_EPOCH && req.instanceId === null) return bad('only a static member (instance id) may leave with epoch -2')
  if (req.memberEpoch === 0) {
    if (req.rebalanceTimeoutMs < 0) return bad('the rebalance timeout must be given when joining')
    if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) return bad('subscribed topic names or a regex must be given when joining')
  }
  if (req.serverAssignor !== null && !isAssignor(req.serverAssignor)) {
    return { code: E.UNSUPPORTED_ASSIGNOR, message: `server assignor ${req.serverAssignor} is not supported; use uniform or range` }
  }
  if (req.subscribedTopicRegex !== null && req.subscribedTopicRegex !== '') {
    try {
      compileTopicRegex(req.subscribedTopicRegex)
    } catch (err) {
      return { code: E.INVALID_REGULAR_EXPRESSION, message: `subscribed topic regex does not compile: ${(err as Error).message}` }
    }
  }
  return null
}

/**
 * A heartbeat's epoch against the member's: newer is impossible (fenced); older is accepted only as
 * a retry of a lost answer (the previous epoch, owning nothing beyond the current assignment).
 */
function epochProblem(member: ConsumerMember, req: ConsumerHeartbeatRequest): number | null {
  if (member.memberEpoch === TEMPORARY_LEAVE_EPOCH) return E.FENCED_MEMBER_EPOCH
  if (req.memberEpoch === member.memberEpoch) return null
  if (req.memberEpoch === member.previousMemberEpoch && req.memberEpoch < member.memberEpoch) {
    if (req.owned === null) return null
    for (const [topic, partitions] of req.owned) {
      const assigned = member.assigned.get(topic) ?? []
      if (!partitions.every((p) => assigned.includes(p))) return E.FENCED_MEMBER_EPOCH
    }
    return null
  }
  return E.FENCED_MEMBER_EPOCH
}
