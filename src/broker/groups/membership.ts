/**
 * Membership of classic groups: JoinGroup, SyncGroup, Heartbeat and LeaveGroup, and the timers
 * behind them, following Apache Kafka's classic group coordinator.
 *
 * A rebalance runs in two phases. PreparingRebalance gathers a JoinGroup from every known member;
 * it completes when all have rejoined or the longest rebalance timeout passes, and members that
 * did not rejoin are dropped (static ones stay until their session expires, KIP-345). The leader
 * then receives everyone's metadata and CompletingRebalance waits for its SyncGroup, whose
 * assignment every member's SyncGroup returns.
 *
 * Liveness: each member has a session timer, restarted by its heartbeats, commits and completed
 * joins and syncs. A member waiting in JoinGroup or SyncGroup is never expired by it (the rebalance
 * timeouts cover it), except a member that never completed a join (KIP-394).
 */
import { randomUUID } from 'node:crypto'
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import type { GroupCoordinatorConfig } from './config.js'
import { ClassicGroup } from './group.js'
import { EMPTY_BYTES, joinError, Member, syncError, type JoinResult, type Protocol, type SyncResult } from './member.js'
import type { GroupStore, StoredGroup } from './store.js'

export interface JoinRequest {
  readonly groupId: string
  /** Empty for a member joining for the first time. */
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly protocolType: string
  readonly protocols: readonly Protocol[]
  readonly clientId: string
  readonly clientHost: string
  /** v4+: a dynamic member without an id is first given one with MEMBER_ID_REQUIRED (KIP-394). */
  readonly requireKnownMemberId: boolean
}

export interface SyncRequest {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
  /** v5+; null when the client did not send it. */
  readonly protocolType: string | null
  readonly protocolName: string | null
  /** Only the leader's assignments are used. */
  readonly assignments: readonly { readonly memberId: string; readonly assignment: Buffer }[]
}

export interface HeartbeatRequest {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
}

export interface LeavingMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
}

export interface LeaveResult {
  readonly errorCode: number
  readonly members: readonly (LeavingMember & { readonly errorCode: number })[]
}

/** What membership shares with the rest of the coordinator. */
export interface CoordinatorState {
  readonly config: GroupCoordinatorConfig
  readonly groups: Map<string, ClassicGroup>
  readonly store: GroupStore
}

const E = KafkaErrorCode

export class Membership {
  private readonly state: CoordinatorState

  constructor(state: CoordinatorState) {
    this.state = state
  }

  private get now(): number {
    return this.state.config.scheduler.now()
  }

  join(req: JoinRequest): Promise<JoinResult> {
    const { config, groups } = this.state
    if (req.groupId.length === 0) return Promise.resolve(joinError(E.INVALID_GROUP_ID, req.memberId))
    if (req.sessionTimeoutMs < config.minSessionTimeoutMs || req.sessionTimeoutMs > config.maxSessionTimeoutMs) {
      return Promise.resolve(joinError(E.INVALID_SESSION_TIMEOUT, req.memberId))
    }
    const isNewMember = req.memberId.length === 0
    let group = groups.get(req.groupId)
    if (group === undefined) {
      // A member id for a group that does not exist belongs to a group that was deleted or lost.
      if (!isNewMember) return Promise.resolve(joinError(E.UNKNOWN_MEMBER_ID, req.memberId))
      group = new ClassicGroup(req.groupId, this.now)
      groups.set(req.groupId, group)
    }
    if (group.is('Dead')) return Promise.resolve(joinError(E.COORDINATOR_NOT_AVAILABLE, req.memberId))
    if (!this.acceptsJoiningMember(group, req.memberId)) {
      const member = group.members.get(req.memberId)
      if (member !== undefined) this.removeMember(group, member)
      return Promise.resolve(joinError(E.GROUP_MAX_SIZE_REACHED, req.memberId))
    }
    const target = group
    return new Promise((resolve) => {
      if (!isNewMember) this.currentMemberJoin(target, req, resolve)
      else if (req.groupInstanceId !== null) this.staticNewMemberJoin(target, req, req.groupInstanceId, resolve)
      else this.dynamicNewMemberJoin(target, req, resolve)
    })
  }

  sync(req: SyncRequest): Promise<SyncResult> {
    const group = this.state.groups.get(req.groupId)
    if (group === undefined) return Promise.resolve(syncError(E.UNKNOWN_MEMBER_ID))
    if (group.is('Dead')) return Promise.resolve(syncError(E.COORDINATOR_NOT_AVAILABLE))
    const invalid =
      validateCurrentMember(group, req.memberId, req.groupInstanceId) ??
      (req.generationId !== group.generationId ? E.ILLEGAL_GENERATION : null) ??
      ((req.protocolType !== null && req.protocolType !== group.protocolType) || (req.protocolName !== null && req.protocolName !== group.protocolName)
        ? E.INCONSISTENT_GROUP_PROTOCOL
        : null)
    if (invalid !== null) return Promise.resolve(syncError(invalid))
    const member = group.members.get(req.memberId)!
    switch (group.state) {
      case 'PreparingRebalance':
        return Promise.resolve(syncError(E.REBALANCE_IN_PROGRESS))
      case 'Stable':
        this.markSynced(group, req.memberId)
        this.scheduleSession(group, member, member.sessionTimeoutMs)
        return Promise.resolve({ errorCode: E.NONE, protocolType: group.protocolType, protocolName: group.protocolName, assignment: member.assignment })
      case 'CompletingRebalance':
        return new Promise((resolve) => {
          // A repeated SyncGroup (a client that reconnected) replaces the one it gave up on.
          member.awaitingSync?.(syncError(E.REBALANCE_IN_PROGRESS))
          member.awaitingSync = resolve
          this.markSynced(group, req.memberId)
          if (req.memberId === group.leaderId) this.applyLeaderAssignment(group, req.assignments)
        })
      default:
        return Promise.resolve(syncError(E.UNKNOWN_MEMBER_ID))
    }
  }

  heartbeat(req: HeartbeatRequest): number {
    const group = this.state.groups.get(req.groupId)
    if (group === undefined) return E.UNKNOWN_MEMBER_ID
    if (group.is('Dead')) return E.COORDINATOR_NOT_AVAILABLE
    const invalid = validateCurrentMember(group, req.memberId, req.groupInstanceId) ?? (req.generationId !== group.generationId ? E.ILLEGAL_GENERATION : null)
    if (invalid !== null) return invalid
    const member = group.members.get(req.memberId)!
    if (group.is('Empty')) return E.UNKNOWN_MEMBER_ID
    this.scheduleSession(group, member, member.sessionTimeoutMs)
    // The member must rejoin; its session stays alive meanwhile so it is not evicted for it.
    return group.is('PreparingRebalance') ? E.REBALANCE_IN_PROGRESS : E.NONE
  }

  leave(groupId: string, leaving: readonly LeavingMember[]): LeaveResult {
    const group = this.state.groups.get(groupId)
    if (group === undefined) return { errorCode: E.NONE, members: leaving.map((m) => ({ ...m, errorCode: E.UNKNOWN_MEMBER_ID })) }
    if (group.is('Dead')) return { errorCode: E.COORDINATOR_NOT_AVAILABLE, members: leaving.map((m) => ({ ...m, errorCode: E.COORDINATOR_NOT_AVAILABLE })) }
    const members = leaving.map((m) => ({ ...m, errorCode: this.leaveOne(group, m) }))
    return { errorCode: E.NONE, members }
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

  /** group.max.size; during a rebalance, the members already rejoined count, so late rejoiners are the ones cut. */
  private acceptsJoiningMember(group: ClassicGroup, memberId: string): boolean {
    const max = this.state.config.maxGroupSize
    const member = group.members.get(memberId)
    switch (group.state) {
      case 'PreparingRebalance': {
        if (member?.awaitingJoin != null) return true
        let awaiting = 0
        for (const m of group.members.values()) if (m.awaitingJoin !== null) awaiting++
        return awaiting < max
      }
      case 'CompletingRebalance':
      case 'Stable':
        return member !== undefined || group.members.size < max
      default:
        return true
    }
  }

  private dynamicNewMemberJoin(group: ClassicGroup, req: JoinRequest, respond: (r: JoinResult) => void): void {
    if (!group.supportsProtocols(req.protocolType, req.protocols)) return respond(joinError(E.INCONSISTENT_GROUP_PROTOCOL, ''))
    const memberId = `${req.clientId}-${randomUUID()}`
    if (req.requireKnownMemberId) {
      // The id is reserved for one session timeout; the join phase waits for it to come back.
      const expiry = this.state.config.scheduler.schedule(req.sessionTimeoutMs, () => this.removePendingMember(group, memberId))
      group.pendingMembers.set(memberId, expiry)
      return respond(joinError(E.MEMBER_ID_REQUIRED, memberId))
    }
    this.addMemberAndRebalance(group, memberId, req, respond)
  }

  private staticNewMemberJoin(group: ClassicGroup, req: JoinRequest, instanceId: string, respond: (r: JoinResult) => void): void {
    const existing = group.staticMemberId(instanceId)
    const member = existing === undefined ? undefined : group.members.get(existing)
    if (!group.supportsProtocols(req.protocolType, req.protocols, member)) return respond(joinError(E.INCONSISTENT_GROUP_PROTOCOL, ''))
    const memberId = `${instanceId}-${randomUUID()}`
    if (member === undefined) this.addMemberAndRebalance(group, memberId, req, respond)
    else this.replaceStaticMember(group, member, memberId, req, respond)
  }

  private currentMemberJoin(group: ClassicGroup, req: JoinRequest, respond: (r: JoinResult) => void): void {
    const pending = group.pendingMembers.get(req.memberId)
    if (pending !== undefined) {
      if (!group.supportsProtocols(req.protocolType, req.protocols)) return respond(joinError(E.INCONSISTENT_GROUP_PROTOCOL, req.memberId))
      pending.cancel()
      group.pendingMembers.delete(req.memberId)
      return this.addMemberAndRebalance(group, req.memberId, req, respond)
    }
    const invalid = validateCurrentMember(group, req.memberId, req.groupInstanceId)
    if (invalid !== null) return respond(joinError(invalid, req.memberId))
    const member = group.members.get(req.memberId)!
    if (!group.supportsProtocols(req.protocolType, req.protocols, member)) return respond(joinError(E.INCONSISTENT_GROUP_PROTOCOL, req.memberId))
    switch (group.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(group, member, req, respond)
      case 'CompletingRebalance':
        // Same metadata: the member most likely lost the JoinGroup response, so repeat it.
        if (member.sameProtocols(req.protocols)) return respond(this.currentJoinResult(group, member, member.memberId === group.leaderId))
        return this.updateMemberAndRebalance(group, member, req, respond)
      case 'Stable':
        // The leader rejoins to make the group rebalance for changes the metadata cannot show
        // (a topic grew partitions), so it always gets a rebalance.
        if (member.memberId === group.leaderId || !member.sameProtocols(req.protocols)) return this.updateMemberAndRebalance(group, member, req, respond)
        return respond(this.currentJoinResult(group, member, false))
      default:
        return respond(joinError(E.UNKNOWN_MEMBER_ID, req.memberId))
    }
  }

  private addMemberAndRebalance(group: ClassicGroup, memberId: string, req: JoinRequest, respond: (r: JoinResult) => void): void {
    const member = new Member({ ...req, memberId })
    member.isNew = true
    member.awaitingJoin = respond
    // A member joining a brand-new group stretches the initial delay by another step.
    if (group.is('PreparingRebalance') && group.initialDelay !== null) group.initialDelay.newMemberAdded = true
    group.add(member)
    this.scheduleSession(group, member, this.state.config.newMemberJoinTimeoutMs)
    this.maybePrepareRebalance(group)
    this.tryCompleteJoin(group)
  }

  private updateMemberAndRebalance(group: ClassicGroup, member: Member, req: JoinRequest, respond: (r: JoinResult) => void): void {
    updateMember(member, req)
    member.awaitingJoin?.(joinError(E.REBALANCE_IN_PROGRESS, member.memberId))
    member.awaitingJoin = respond
    this.maybePrepareRebalance(group)
    this.tryCompleteJoin(group)
  }

  /**
   * KIP-345: a static member restarting takes over its old entry under a new member id. The old
   * id is fenced: its waiting requests, and any it sends later, get FENCED_INSTANCE_ID. In a
   * stable group whose chosen protocol stays the same, the member gets its assignment back without
   * a rebalance.
   */
  private replaceStaticMember(group: ClassicGroup, member: Member, newMemberId: string, req: JoinRequest, respond: (r: JoinResult) => void): void {
    const oldMemberId = member.memberId
    const fencedJoin = member.awaitingJoin
    const fencedSync = member.awaitingSync
    member.awaitingJoin = null
    member.awaitingSync = null
    fencedJoin?.(joinError(E.FENCED_INSTANCE_ID, oldMemberId))
    fencedSync?.(syncError(E.FENCED_INSTANCE_ID))
    group.replaceStaticMember(req.groupInstanceId!, oldMemberId, newMemberId)
    updateMember(member, req)
    member.awaitingJoin = respond
    this.scheduleSession(group, member, member.sessionTimeoutMs)
    switch (group.state) {
      case 'Stable':
        if (group.selectProtocol() === group.protocolName) {
          this.saveGroup(group)
          member.awaitingJoin = null
          const isLeader = member.memberId === group.leaderId
          // KIP-814: the leader sees the members but must not reassign; the group is unchanged.
          return respond({ ...this.currentJoinResult(group, member, isLeader), skipAssignment: isLeader })
        }
        return this.prepareRebalance(group)
      case 'CompletingRebalance':
        // The leader may be assigning to the old member id, which would leave the new one empty-handed.
        return this.prepareRebalance(group)
      default:
        return this.tryCompleteJoin(group)
    }
  }

  private leaveOne(group: ClassicGroup, leaving: LeavingMember): number {
    if (leaving.memberId.length === 0) {
      // KIP-345: an administrator removes a static member by its instance id alone.
      const memberId = group.staticMemberId(leaving.groupInstanceId)
      const member = memberId === undefined ? undefined : group.members.get(memberId)
      if (member === undefined) return E.UNKNOWN_MEMBER_ID
      this.removeMember(group, member)
      return E.NONE
    }
    if (group.pendingMembers.has(leaving.memberId)) {
      this.removePendingMember(group, leaving.memberId)
      return E.NONE
    }
    const invalid = validateCurrentMember(group, leaving.memberId, leaving.groupInstanceId)
    if (invalid !== null) return invalid
    this.removeMember(group, group.members.get(leaving.memberId)!)
    return E.NONE
  }

  private removePendingMember(group: ClassicGroup, memberId: string): void {
    const timer = group.pendingMembers.get(memberId)
    if (timer === undefined) return
    timer.cancel()
    group.pendingMembers.delete(memberId)
    if (group.is('PreparingRebalance')) this.tryCompleteJoin(group)
  }

  /** Drops a member (left, expired or not rejoined) and moves the group on accordingly. */
  private removeMember(group: ClassicGroup, member: Member): void {
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

  private maybePrepareRebalance(group: ClassicGroup): void {
    if (group.is('Stable') || group.is('CompletingRebalance') || group.is('Empty')) this.prepareRebalance(group)
  }

  private prepareRebalance(group: ClassicGroup): void {
    const { config } = this.state
    if (group.is('CompletingRebalance')) {
      // Members waiting for an assignment of the generation being abandoned must rejoin.
      for (const member of group.members.values()) {
        member.assignment = EMPTY_BYTES
        const sync = member.awaitingSync
        member.awaitingSync = null
        sync?.(syncError(E.REBALANCE_IN_PROGRESS))
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

  private initialDelayElapsed(group: ClassicGroup): void {
    const delay = group.initialDelay
    if (delay !== null && delay.newMemberAdded && delay.remainingMs > 0) {
      const step = Math.min(this.state.config.initialRebalanceDelayMs, delay.remainingMs)
      group.initialDelay = { remainingMs: Math.max(delay.remainingMs - step, 0), newMemberAdded: false }
      group.joinTimer = this.state.config.scheduler.schedule(step, () => this.initialDelayElapsed(group))
      return
    }
    this.completeJoin(group)
  }

  private tryCompleteJoin(group: ClassicGroup): void {
    // The initial delay exists to collect more members, so it is never cut short.
    if (group.is('PreparingRebalance') && group.initialDelay === null && group.hasAllMembersJoined) this.completeJoin(group)
  }

  /** End of the join phase: by all members rejoining, or by the rebalance timeout. */
  private completeJoin(group: ClassicGroup): void {
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
  private dropWithoutRebalance(group: ClassicGroup, member: Member): void {
    member.sessionTimer?.cancel()
    member.sessionTimer = null
    group.remove(member.memberId)
  }

  private pendingSyncExpired(group: ClassicGroup, generation: number): void {
    group.syncTimer = null
    if (group.generationId !== generation || !(group.is('CompletingRebalance') || group.is('Stable'))) return
    for (const memberId of [...group.pendingSync]) {
      const member = group.members.get(memberId)
      if (member !== undefined) this.removeMember(group, member)
    }
  }

  private markSynced(group: ClassicGroup, memberId: string): void {
    group.pendingSync.delete(memberId)
    if (group.pendingSync.size === 0) {
      group.syncTimer?.cancel()
      group.syncTimer = null
    }
  }

  private applyLeaderAssignment(group: ClassicGroup, assignments: SyncRequest['assignments']): void {
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

  private currentJoinResult(group: ClassicGroup, member: Member, withMembers: boolean): JoinResult {
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

  private saveGroup(group: ClassicGroup): void {
    this.state.store.saveGroup(snapshotOf(group))
  }
}

function updateMember(member: Member, req: JoinRequest): void {
  member.protocols = req.protocols
  member.protocolType = req.protocolType
  member.sessionTimeoutMs = req.sessionTimeoutMs
  member.rebalanceTimeoutMs = req.rebalanceTimeoutMs
  member.clientId = req.clientId
  member.clientHost = req.clientHost
}

/**
 * UNKNOWN_MEMBER_ID for an id the group does not hold; FENCED_INSTANCE_ID when the instance id
 * belongs to another member id (a newer incarnation of the same static member took over).
 */
export function validateCurrentMember(group: ClassicGroup, memberId: string, groupInstanceId: string | null): number | null {
  const current = group.staticMemberId(groupInstanceId)
  if (current !== undefined) return current === memberId ? null : E.FENCED_INSTANCE_ID
  return group.members.has(memberId) ? null : E.UNKNOWN_MEMBER_ID
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
