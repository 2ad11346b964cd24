/**
 * Membership requests of classic groups: JoinGroup, SyncGroup, Heartbeat and LeaveGroup, following
 * Apache Kafka's classic group coordinator. The timers and phase changes they set off live in
 * rebalance.ts.
 *
 * Liveness: each member has a session timer, restarted by its heartbeats, commits and completed
 * joins and syncs. A member waiting in JoinGroup or SyncGroup is never expired by it (the rebalance
 * timeouts cover it), except a member that never completed a join (KIP-394).
 */
import { randomUUID } from 'node:crypto'
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { ClassicGroup } from './group.js'
import { joinError, Member, syncError, type JoinResult, type Protocol, type SyncResult } from './member.js'
import { Rebalancer } from './rebalance.js'

export { snapshotOf, type CoordinatorState } from './rebalance.js'

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

const E = KafkaErrorCode

export class Membership extends Rebalancer {
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
 * UNKNOWN_MEMBER_ID for an id (or an instance id) the group does not hold; FENCED_INSTANCE_ID when
 * the instance id belongs to another member id (a newer incarnation of the static member took over).
 */
export function validateCurrentMember(group: ClassicGroup, memberId: string, groupInstanceId: string | null): number | null {
  if (groupInstanceId !== null) {
    const current = group.staticMemberId(groupInstanceId)
    if (current === undefined) return E.UNKNOWN_MEMBER_ID
    if (current !== memberId) return E.FENCED_INSTANCE_ID
  }
  return group.members.has(memberId) ? null : E.UNKNOWN_MEMBER_ID
}
