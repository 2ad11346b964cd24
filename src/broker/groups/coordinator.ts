/**
 * The group coordinator of the embedded broker: one per broker process, shared by its nodes.
 * Which node answers for a group is decided by `coordinatorNode` (Kafka's hashing); the handlers
 * refuse the others with NOT_COORDINATOR before calling in here.
 *
 * Everything runs on Node's one thread and every method finishes its state changes before it
 * returns (JoinGroup and SyncGroup return promises that later timers or requests settle), so no
 * request ever sees a group half-updated.
 *
 * Files of this folder:
 *   state.ts        group states and the transitions Kafka allows (assertTransition)
 *   group.ts        a group's data and protocol selection; member.ts one member and the results
 *   membership.ts   JoinGroup, SyncGroup, Heartbeat, LeaveGroup
 *   rebalance.ts    the timers and phase changes those set off
 *   offsets.ts      OffsetCommit fencing, OffsetFetch, OffsetDelete; admin.ts the admin APIs
 *   transactional-offsets.ts   TxnOffsetCommit's group checks and applying a committed transaction's offsets
 *   store.ts / file-store.ts   what is persisted and the on-disk log; placement.ts coordinator hashing
 *   scheduler.ts    injected clock and timers; config.ts options; broker-context.ts the broker glue
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { resolveGroupOptions, type GroupCoordinatorConfig, type GroupCoordinatorOptions } from './config.js'
import { describeGroup, deleteGroup, listGroups, type DescribedGroup, type ListedGroup } from './admin.js'
import { ClassicGroup } from './group.js'
import { joinError, Member, syncError, type JoinResult, type SyncResult } from './member.js'
import {
  Membership,
  type CoordinatorState,
  type HeartbeatRequest,
  type JoinRequest,
  type LeaveResult,
  type LeavingMember,
  type SyncRequest,
} from './membership.js'
import { Offsets, type CommitRequest, type DeleteOffsetsResult, type FetchedTopic, type TopicPartitions } from './offsets.js'
import { coordinatorNodeFor } from './placement.js'
import type { GroupState } from './state.js'
import { MemoryGroupStore, type GroupStore, type LoadedGroups } from './store.js'
import { applyTransactionalOffsets, validateTransactionalCommit, type TransactionalCommitMetadata, type TransactionalOffset } from './transactional-offsets.js'

/** What a stopped coordinator answers: the client looks for the coordinator again, as after a failover. */
const NOT_COORDINATOR = KafkaErrorCode.NOT_COORDINATOR

export interface GroupCoordinatorInit extends GroupCoordinatorOptions {
  /** Where groups and offsets are kept; in memory when omitted. */
  store?: GroupStore
}

export class GroupCoordinator {
  readonly config: GroupCoordinatorConfig
  private readonly state: CoordinatorState
  private readonly membership: Membership
  private readonly offsets: Offsets
  private closed = false

  constructor(init: GroupCoordinatorInit = {}) {
    this.config = resolveGroupOptions(init)
    this.state = { config: this.config, groups: new Map(), store: init.store ?? new MemoryGroupStore() }
    this.membership = new Membership(this.state)
    this.offsets = new Offsets(this.state, this.membership)
    this.restore(this.state.store.load())
  }

  /** The node that coordinates `groupId` in a cluster of `nodeCount` nodes. */
  coordinatorNode(groupId: string, nodeCount: number): number {
    return coordinatorNodeFor(groupId, this.config.offsetsTopicPartitions, nodeCount)
  }

  join(req: JoinRequest): Promise<JoinResult> {
    if (this.closed) return Promise.resolve(joinError(NOT_COORDINATOR, req.memberId))
    return this.membership.join(req)
  }

  sync(req: SyncRequest): Promise<SyncResult> {
    if (this.closed) return Promise.resolve(syncError(NOT_COORDINATOR))
    return this.membership.sync(req)
  }

  heartbeat(req: HeartbeatRequest): number {
    if (this.closed) return NOT_COORDINATOR
    return this.membership.heartbeat(req)
  }

  leave(groupId: string, members: readonly LeavingMember[]): LeaveResult {
    if (this.closed) return { errorCode: NOT_COORDINATOR, members: members.map((m) => ({ ...m, errorCode: NOT_COORDINATOR })) }
    return this.membership.leave(groupId, members)
  }

  commitOffsets(req: CommitRequest): number[] {
    if (this.closed) return req.offsets.map(() => NOT_COORDINATOR)
    return this.offsets.commit(req)
  }

  /** TxnOffsetCommit's group metadata checks (KIP-447): NONE or the error for every partition. */
  validateTransactionalCommit(req: TransactionalCommitMetadata): number {
    if (this.closed) return NOT_COORDINATOR
    return validateTransactionalCommit(this.state, req)
  }

  /** The offsets of a transaction that committed become visible. */
  applyTransactionalOffsets(groupId: string, offsets: readonly TransactionalOffset[]): void {
    if (this.closed) return
    applyTransactionalOffsets(this.state, groupId, offsets)
  }

  fetchOffsets(groupId: string, topics: readonly TopicPartitions[] | null): { errorCode: number; topics: FetchedTopic[] } {
    if (this.closed) return { errorCode: NOT_COORDINATOR, topics: [] }
    return this.offsets.fetch(groupId, topics)
  }

  deleteOffsets(groupId: string, topics: readonly TopicPartitions[]): DeleteOffsetsResult {
    if (this.closed) return { errorCode: NOT_COORDINATOR, topics: [] }
    return this.offsets.delete(groupId, topics)
  }

  describeGroup(groupId: string): DescribedGroup {
    if (this.closed) return { groupId, errorCode: NOT_COORDINATOR, state: 'Dead', protocolType: '', protocol: '', members: [] }
    return describeGroup(this.state, groupId)
  }

  /** `include` narrows the list to the groups a node coordinates. */
  listGroups(statesFilter: readonly string[], typesFilter: readonly string[], include: (groupId: string) => boolean = () => true): ListedGroup[] {
    return listGroups(this.state, statesFilter, typesFilter, include)
  }

  deleteGroup(groupId: string): number {
    if (this.closed) return NOT_COORDINATOR
    return deleteGroup(this.state, groupId)
  }

  /** The group's state, or undefined if the coordinator does not know it (for tests and tools). */
  groupState(groupId: string): GroupState | undefined {
    return this.state.groups.get(groupId)?.state
  }

  /** The group's current generation, or undefined if it does not exist. */
  generationOf(groupId: string): number | undefined {
    return this.state.groups.get(groupId)?.generationId
  }

  /** Stops every timer, answers waiting JoinGroup/SyncGroup requests with NOT_COORDINATOR, closes the store. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.membership.close()
    this.state.store.close()
  }

  /**
   * Rebuilds groups from the store as Kafka loads __consumer_offsets: a group with members comes
   * back Stable with its assignments, and each member has one session timeout to show up again.
   */
  private restore(loaded: LoadedGroups): void {
    const now = this.config.scheduler.now()
    for (const stored of loaded.groups) {
      const group = new ClassicGroup(stored.groupId, now)
      group.generationId = stored.generationId
      group.protocolName = stored.protocolName
      for (const m of stored.members) {
        const member = new Member({
          ...m,
          protocolType: stored.protocolType ?? '',
          protocols: stored.protocolName === null ? [] : [{ name: stored.protocolName, metadata: m.metadata }],
        })
        member.assignment = m.assignment
        group.add(member)
      }
      group.protocolType = stored.protocolType
      group.leaderId = stored.leaderId !== null && group.members.has(stored.leaderId) ? stored.leaderId : group.leaderId
      // Loading is not a transition: the group did not pass through the states in between.
      if (group.hasMembers) group.state = 'Stable'
      group.subscribedTopics = group.computeSubscribedTopics()
      this.state.groups.set(group.groupId, group)
      for (const member of group.members.values()) this.membership.scheduleSession(group, member, member.sessionTimeoutMs)
    }
    for (const o of loaded.offsets) {
      let group = this.state.groups.get(o.groupId)
      if (group === undefined) this.state.groups.set(o.groupId, (group = new ClassicGroup(o.groupId, now)))
      group.setOffset(o.topic, o.partition, { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: o.commitTimestamp })
    }
  }
}
