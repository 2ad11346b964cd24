/**
 * The part of a classic group's life that timers and other members drive: starting a rebalance,
 * completing its join phase (everyone rejoined, or the rebalance timeout passed), handing out the
 * leader's assignment, and evicting members whose session or sync deadline passed. Membership
 * (the requests) builds on it.
 *
 * A rebalance runs in two phases. PreparingRebalance gathers a JoinGroup from every known member;
 * it completes when all have rejoined or the longest rebalance timeout passes, and members that
 * did not rejoin are dropped (static ones stay until their session expires, KIP-345). The leader
 * then receives everyone's metadata and CompletingRebalance waits for its SyncGroup, whose
 * assignment every member's SyncGroup returns.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import type { GroupCoordinatorConfig } from './config.js'
import type { ClassicGroup } from './group.js'
import { EMPTY_BYTES, joinError, syncError, type JoinResult, type Member } from './member.js'
import type { GroupStore, StoredGroup } from './store.js'

/** What membership shares with the rest of the coordinator. */
export interface CoordinatorState {
  readonly config: GroupCoordinatorConfig
  readonly groups: Map<string, ClassicGroup>
  readonly store: GroupStore
}

const E = KafkaErrorCode

export class Rebalancer {
  protected readonly state: CoordinatorState

  constructor(state: CoordinatorState) {
    this.state = state
  }

  protected get now(): number {
    return this.state.config.scheduler.now()
  }

  /** Restarts the member's session timer (also used by OffsetCommit, which counts as liveness). */
  scheduleSession(group: ClassicGroup, member: Member, timeoutMs: number): void {
    member.sessionTimer?.cancel()
    member.sessionTimer = this.state.config.scheduler.schedule(timeoutMs, () => {
      member.sessionTimer = null
      if (group.members.get(member.memberId) !== member) return
      if (!member.isNew && (member.awaitingJoin !== null || member.awaitingSync !== null)) return
      this.removeMember(group, member)
    })
  }

  /** Stops every timer and answers every waiting request; the coordinator is shutting down. */
  close(): void {
    for (const group of this.state.groups.values()) {
      group.joinTimer?.cancel()
      group.syncTimer?.cancel()
      for (const timer of group.pendingMembers.values()) timer.cancel()
      for (const member of group.members.values()) {
        member.sessionTimer?.cancel()
        const join = member.awaitingJoin
        const sync = member.awaitingSync
        member.awaitingJoin = null
        member.awaitingSync = null
        join?.(joinError(E.NOT_COORDINATOR, member.memberId))
        sync?.(syncError(E.NOT_COORDINATOR))
      }
    }
  }

  protected removePendingMember(group: ClassicGroup, memberId: string): void {
    const timer = group.pendingMembers.get(memberId)
    if (timer === undefined) return
    timer.cancel()
    group.pendingMembers.delete(memberId)
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group)
  }

  /** Drops a member (left, expired or not rejoined) and moves the group on accordingly. */
  protected removeMember(group: ClassicGroup, member: Member): void {
    const join = member.awaitingJoin
    const sync = member.awaitingSync
    member.awaitingJoin = null
    member.awaitingSync = null
    member.sessionTimer?.cancel()
    member.sessionTimer = null
    group.remove(member.memberId)
    join?.(joinError(E.UNKNOWN_MEMBER_ID, member.memberId))
    sync?.(syncError(E.UNKNOWN_MEMBER_ID))
    if (group.is('Stable') || group.is('CompletingRebalance')) this.prepareRebalance(group)
    else if (group.is('PreparingRebalance')) this.tryCompleteJoin(group)
  }

  protected maybePrepareRebalance(group: ClassicGroup): void {
    if (group.is('Stable') || group.is('CompletingRebalance') || group.is('Empty')) this.prepareRebalance(group)
  }

  protected prepareRebalance(group: ClassicGroup): void {
    const { config } = this.state
    if (group.is('CompletingRebalance')) {
      // Members waiting for an assignment of the generation being abandoned must rejoin.
      for (const member of group.members.values()) {
        member.assignment = EMPTY_BYTES
        const sync = member.awaitingSync
        if (sync === null) continue
        member.awaitingSync = null
        // Its session timer may have lapsed while it waited; it runs again from the answer.
        this.scheduleSession(group, member, member.sessionTimeoutMs)
        sync(syncError(E.REBALANCE_IN_PROGRESS))
      }
    }
    group.syncTimer?.cancel()
    group.syncTimer = null
    group.pendingSync.clear()
    const wasEmpty = group.is('Empty')
    group.transitionTo('PreparingRebalance', this.now)
    group.joinTimer?.cancel()
    if (wasEmpty && config.initialRebalanceDelayMs > 0) {
      const delay = config.initialRebalanceDelayMs
      group.initialDelay = { remainingMs: Math.max(group.rebalanceTimeoutMs - delay, 0), newMemberAdded: false }
      group.joinTimer = config.scheduler.schedule(delay, () => this.initialDelayElapsed(group))
    } else {
      group.initialDelay = null
      group.joinTimer = config.scheduler.schedule(group.rebalanceTimeoutMs, () => this.completeJoin(group))
      // Everyone may already be in (a group whose last member just left, for one).
      this.tryCompleteJoin(group)
    }
  }

  protected initialDelayElapsed(group: ClassicGroup): void {
    const delay = group.initialDelay
    if (delay !== null && delay.newMemberAdded && delay.remainingMs > 0) {
      const step = Math.min(this.state.config.initialRebalanceDelayMs, delay.remainingMs)
      group.initialDelay = { remainingMs: Math.max(delay.remainingMs - step, 0), newMemberAdded: false }
      group.joinTimer = this.state.config.scheduler.schedule(step, () => this.initialDelayElapsed(group))
      return
    }
    this.completeJoin(group)
  }

  protected tryCompleteJoin(group: ClassicGroup): void {
    // The initial delay exists to collect more members, so it is never cut short.
    if (group.is('PreparingRebalance') && group.initialDelay === null && group.hasAllMembersJoined) this.completeJoin(group)
  }

  /** End of the join phase: by all members rejoining, or by the rebalance timeout. */
  protected completeJoin(group: ClassicGroup): void {
    const { config } = this.state
    group.joinTimer?.cancel()
    group.joinTimer = null
    group.initialDelay = null
    if (!group.is('PreparingRebalance')) return
    for (const member of [...group.members.values()]) {
      if (member.awaitingJoin === null && !member.isStatic) this.dropWithoutRebalance(group, member)
    }
    if (!group.electJoinedLeader() && group.hasMembers) {
      // Only absent static members remain: wait for them to return or for their sessions to end.
      group.joinTimer = config.scheduler.schedule(group.rebalanceTimeoutMs, () => this.completeJoin(group))
      return
    }
    group.generationId++
    if (!group.hasMembers) {
      group.protocolName = null
      group.leaderId = null
      group.subscribedTopics = new Set()
      group.transitionTo('Empty', this.now)
      this.saveGroup(group)
      return
    }
    group.protocolName = group.selectProtocol()
    group.subscribedTopics = group.computeSubscribedTopics()
    group.transitionTo('CompletingRebalance', this.now)
    const generation = group.generationId
    for (const member of group.members.values()) {
      group.pendingSync.add(member.memberId)
      const respond = member.awaitingJoin
      member.awaitingJoin = null
      member.isNew = false
      this.scheduleSession(group, member, member.sessionTimeoutMs)
      respond?.(this.currentJoinResult(group, member, member.memberId === group.leaderId))
    }
    // Members that never send SyncGroup are removed after the rebalance timeout.
    group.syncTimer = config.scheduler.schedule(group.rebalanceTimeoutMs, () => this.pendingSyncExpired(group, generation))
  }

  /** Removal while the join phase is being completed: the caller moves the group on. */
  protected dropWithoutRebalance(group: ClassicGroup, member: Member): void {
    member.sessionTimer?.cancel()
    member.sessionTimer = null
    group.remove(member.memberId)
  }

  protected pendingSyncExpired(group: ClassicGroup, generation: number): void {
    group.syncTimer = null
    if (group.generationId !== generation || !(group.is('CompletingRebalance') || group.is('Stable'))) return
    for (const memberId of [...group.pendingSync]) {
      const member = group.members.get(memberId)
      if (member !== undefined) this.removeMember(group, member)
    }
  }

  protected markSynced(group: ClassicGroup, memberId: string): void {
    group.pendingSync.delete(memberId)
    if (group.pendingSync.size === 0) {
      group.syncTimer?.cancel()
      group.syncTimer = null
    }
  }

  protected applyLeaderAssignment(group: ClassicGroup, assignments: readonly { readonly memberId: string; readonly assignment: Buffer }[]): void {
    const byMember = new Map(assignments.map((a) => [a.memberId, a.assignment]))
    for (const member of group.members.values()) member.assignment = byMember.get(member.memberId) ?? EMPTY_BYTES
    this.saveGroup(group)
    group.transitionTo('Stable', this.now)
    for (const member of group.members.values()) {
      const respond = member.awaitingSync
      if (respond === null) continue
      member.awaitingSync = null
      this.scheduleSession(group, member, member.sessionTimeoutMs)
      respond({ errorCode: E.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment })
    }
  }

  protected currentJoinResult(group: ClassicGroup, member: Member, withMembers: boolean): JoinResult {
    return {
      errorCode: E.NONE,
      generationId: group.generationId,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      leader: group.leaderId ?? '',
      memberId: member.memberId,
      members: withMembers ? group.currentMemberMetadata() : [],
      skipAssignment: false,
    }
  }

  protected saveGroup(group: ClassicGroup): void {
    this.state.store.saveGroup(snapshotOf(group))
  }
}

export function snapshotOf(group: ClassicGroup): StoredGroup {
  const protocol = group.protocolName ?? ''
  return {
    groupId: group.groupId,
    protocolType: group.protocolType,
    generationId: group.generationId,
    protocolName: group.protocolName,
    leaderId: group.leaderId,
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      sessionTimeoutMs: m.sessionTimeoutMs,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      metadata: m.metadataFor(protocol),
      assignment: m.assignment,
    })),
  }
}
