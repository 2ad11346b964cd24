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
 *   consumer/       KIP-848 consumer groups (ConsumerGroupHeartbeat): epochs, server-side assignors,
 *                   reconciliation, their offset fencing and persisted form
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { resolveGroupOptions, type GroupCoordinatorConfig, type GroupCoordinatorOptions } from './config.js'
import { describeGroup, deleteGroup, listGroups, type DescribedGroup, type ListedGroup } from './admin.js'
import { describeConsumerGroupClassically, listConsumerGroups } from './consumer/describe.js'
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
import { Offsets, type CommitRequest, type DeleteOffsetsResult, type FetchedTopic, type FetchingMember, type TopicPartitions } from './offsets.js'
import { ConsumerGroupCoordinator, NO_TOPICS, type ConsumerCoordinatorState, type ConsumerHeartbeatRequest, type ConsumerHeartbeatResult, type TopicView } from './consumer/coordinator.js'
import { describeConsumerGroup, type DescribedConsumerGroup } from './consumer/describe.js'
import type { ConsumerGroup } from './consumer/group.js'
import { validateTransactionalConsumerCommit } from './consumer/offsets.js'
import { restoreConsumerGroup } from './consumer/persist.js'
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
  private readonly consumerState: ConsumerCoordinatorState
  private readonly consumer: ConsumerGroupCoordinator
  private closed = false

  constructor(init: GroupCoordinatorInit = {}) {
    this.config = resolveGroupOptions(init)
    this.state = { config: this.config, groups: new Map(), store: init.store ?? new MemoryGroupStore() }
    this.membership = new Membership(this.state)
    const consumerGroups = new Map<string, ConsumerGroup>()
    this.consumerState = { config: this.config, store: this.state.store, classicGroups: this.state.groups, consumerGroups, topics: NO_TOPICS }
    this.consumer = new ConsumerGroupCoordinator(this.consumerState)
    this.offsets = new Offsets(this.state, this.membership, consumerGroups)
    this.restore(this.state.store.load())
  }

  /** The cluster's topics as consumer groups see them (subscriptions, regexes, partition counts). */
  attachTopics(topics: TopicView): void {
    this.consumerState.topics = topics
  }

  /** ConsumerGroupHeartbeat (KIP-848): join, heartbeat or leave a consumer group. */
  consumerHeartbeat(req: ConsumerHeartbeatRequest): ConsumerHeartbeatResult {
    if (this.closed) return { errorCode: NOT_COORDINATOR, errorMessage: null, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null }
    return this.consumer.heartbeat(req)
  }

  /** ConsumerGroupDescribe: GROUP_ID_NOT_FOUND for a group that is not a consumer group. */
  describeConsumerGroup(groupId: string): DescribedConsumerGroup {
    return describeConsumerGroup(this.consumerState.consumerGroups.get(groupId), groupId)
  }

  /** The type of the group, or undefined if the coordinator does not know it. */
  groupType(groupId: string): 'classic' | 'consumer' | undefined {
    if (this.consumerState.consumerGroups.has(groupId)) return 'consumer'
    return this.state.groups.has(groupId) ? 'classic' : undefined
  }

  /** The node that coordinates `groupId` in a cluster of `nodeCount` nodes. */
  coordinatorNode(groupId: string, nodeCount: number): number {
    return coordinatorNodeFor(groupId, this.config.offsetsTopicPartitions, nodeCount)
  }

  join(req: JoinRequest): Promise<JoinResult> {
    if (this.closed) return Promise.resolve(joinError(NOT_COORDINATOR, req.memberId))
    const consumerGroup = this.consumerState.consumerGroups.get(req.groupId)
    if (consumerGroup !== undefined) {
      // A consumer group with members takes no classic members; an empty one converts, keeping its offsets.
      if (!consumerGroup.isEmpty) return Promise.resolve(joinError(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId))
      this.consumer.forget(req.groupId)
      const classic = new ClassicGroup(req.groupId, this.config.scheduler.now())
      for (const [topic, partitions] of consumerGroup.offsets) for (const [p, c] of partitions) classic.setOffset(topic, p, c)
      this.state.groups.set(req.groupId, classic)
    }
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
    const consumerGroup = this.consumerState.consumerGroups.get(req.groupId)
    if (consumerGroup !== undefined) return validateTransactionalConsumerCommit(consumerGroup, req.memberId, req.generationId)
    return validateTransactionalCommit(this.state, req)
  }

  /** The offsets of a transaction that committed become visible. */
  applyTransactionalOffsets(groupId: string, offsets: readonly TransactionalOffset[]): void {
    if (this.closed) return
    const consumerGroup = this.consumerState.consumerGroups.get(groupId)
    if (consumerGroup === undefined) {
      applyTransactionalOffsets(this.state, groupId, offsets)
      return
    }
    const now = this.config.scheduler.now()
    for (const o of offsets) {
      const committed = { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: now }
      consumerGroup.setOffset(o.topic, o.partition, committed)
      this.state.store.saveOffset({ groupId, topic: o.topic, partition: o.partition, ...committed })
    }
  }

  fetchOffsets(groupId: string, topics: readonly TopicPartitions[] | null, asking?: FetchingMember): { errorCode: number; topics: FetchedTopic[] } {
    if (this.closed) return { errorCode: NOT_COORDINATOR, topics: [] }
    return this.offsets.fetch(groupId, topics, asking)
  }

  deleteOffsets(groupId: string, topics: readonly TopicPartitions[]): DeleteOffsetsResult {
    if (this.closed) return { errorCode: NOT_COORDINATOR, topics: [] }
    return this.offsets.delete(groupId, topics)
  }

  describeGroup(groupId: string): DescribedGroup {
    if (this.closed) return { groupId, errorCode: NOT_COORDINATOR, state: 'Dead', protocolType: '', protocol: '', members: [] }
    const consumerGroup = this.consumerState.consumerGroups.get(groupId)
    if (consumerGroup !== undefined) return describeConsumerGroupClassically(consumerGroup)
    return describeGroup(this.state, groupId)
  }

  /** `include` narrows the list to the groups a node coordinates. */
  listGroups(statesFilter: readonly string[], typesFilter: readonly string[], include: (groupId: string) => boolean = () => true): ListedGroup[] {
    return [...listGroups(this.state, statesFilter, typesFilter, include), ...listConsumerGroups(this.consumerState.consumerGroups.values(), statesFilter, typesFilter, include)]
  }

  deleteGroup(groupId: string): number {
    if (this.closed) return NOT_COORDINATOR
    const consumerGroup = this.consumerState.consumerGroups.get(groupId)
    if (consumerGroup !== undefined) {
      if (!consumerGroup.isEmpty) return KafkaErrorCode.NON_EMPTY_GROUP
      this.consumerState.consumerGroups.delete(groupId)
      this.state.store.deleteGroup(groupId)
      return KafkaErrorCode.NONE
    }
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
    this.consumer.close()
    this.state.store.close()
  }

  /**
   * Rebuilds groups from the store as Kafka loads __consumer_offsets: a group with members comes
   * back Stable with its assignments, and each member has one session timeout to show up again.
   */
  private restore(loaded: LoadedGroups): void {
    const now = this.config.scheduler.now()
    const consumerGroups = this.consumerState.consumerGroups
    for (const stored of loaded.consumerGroups ?? []) {
      const group = restoreConsumerGroup(stored)
      consumerGroups.set(group.groupId, group)
      this.consumer.restored(group)
    }
    for (const stored of loaded.groups) {
      // A group id is of one type at a time; the classic record of a group converted since is history.
      if (consumerGroups.has(stored.groupId) && stored.members.length === 0) continue
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
      const consumerGroup = consumerGroups.get(o.groupId)
      if (consumerGroup !== undefined) {
        consumerGroup.setOffset(o.topic, o.partition, { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: o.commitTimestamp })
        continue
      }
      let group = this.state.groups.get(o.groupId)
      if (group === undefined) this.state.groups.set(o.groupId, (group = new ClassicGroup(o.groupId, now)))
      group.setOffset(o.topic, o.partition, { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: o.commitTimestamp })
    }
  }
}
