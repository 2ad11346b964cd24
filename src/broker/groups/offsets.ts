/**
 * Committed offsets: OffsetCommit with Kafka's generation fencing, OffsetFetch and OffsetDelete.
 *
 * Fencing is what makes a revoke safe. A commit from a member of the current generation is taken
 * in Stable and also in PreparingRebalance, so an eager consumer can commit in its revoke callback
 * before it rejoins; once the join phase completed (CompletingRebalance) the partitions may already
 * belong to someone else, so commits are refused with REBALANCE_IN_PROGRESS, and a commit with an
 * older generation gets ILLEGAL_GENERATION.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import type { ConsumerGroup } from './consumer/group.js'
import { validateConsumerCommit, validateConsumerFetch } from './consumer/offsets.js'
import { ClassicGroup, CONSUMER_PROTOCOL_TYPE } from './group.js'
import { validateCurrentMember, type CoordinatorState, type Membership } from './membership.js'

export interface OffsetToCommit {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly leaderEpoch: number
  readonly metadata: string | null
  /** -1: the commit time is now (v1 let clients set it; later versions always use now). */
  readonly commitTimestamp: number
}

export interface CommitRequest {
  readonly groupId: string
  /** -1 (with an empty member id) for a group whose members do not use the coordinator. */
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly offsets: readonly OffsetToCommit[]
  /** The OffsetCommit version: consumer-group members must use v9+ (default: the newest). */
  readonly apiVersion?: number
}

/** OffsetFetch v9+ names the member asking and its epoch (consumer groups check them). */
export interface FetchingMember {
  readonly memberId: string | null
  readonly memberEpoch: number
}

export interface FetchedOffset {
  readonly partition: number
  readonly offset: bigint
  readonly leaderEpoch: number
  readonly metadata: string | null
  readonly errorCode: number
}

export interface FetchedTopic {
  readonly topic: string
  readonly partitions: readonly FetchedOffset[]
}

export interface TopicPartitions {
  readonly topic: string
  readonly partitions: readonly number[]
}

export interface DeleteOffsetsResult {
  readonly errorCode: number
  readonly topics: readonly { readonly topic: string; readonly partitions: readonly { readonly partition: number; readonly errorCode: number }[] }[]
}

const E = KafkaErrorCode

/** Kafka's "no committed offset": -1 with no leader epoch and empty metadata. */
const NO_OFFSET = { offset: -1n, leaderEpoch: -1, metadata: '' } as const

export class Offsets {
  private readonly state: CoordinatorState
  private readonly membership: Membership

  private readonly consumerGroups: ReadonlyMap<string, ConsumerGroup>

  constructor(state: CoordinatorState, membership: Membership, consumerGroups: ReadonlyMap<string, ConsumerGroup>) {
    this.state = state
    this.membership = membership
    this.consumerGroups = consumerGroups
  }

  /** Commits to a consumer group (KIP-848): member epochs instead of generations. */
  private commitToConsumerGroup(group: ConsumerGroup, req: CommitRequest): number[] {
    const invalid = validateConsumerCommit(group, req.memberId, req.generationId, req.apiVersion ?? Infinity)
    if (invalid !== null) return req.offsets.map(() => invalid)
    return this.store(group, req)
  }

  private store(group: ClassicGroup | ConsumerGroup, req: CommitRequest): number[] {
    const { config } = this.state
    const now = config.scheduler.now()
    return req.offsets.map((o) => {
      if (o.metadata !== null && Buffer.byteLength(o.metadata) > config.offsetMetadataMaxBytes) return E.OFFSET_METADATA_TOO_LARGE
      const committed = { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: o.commitTimestamp >= 0 ? o.commitTimestamp : now }
      group.setOffset(o.topic, o.partition, committed)
      this.state.store.saveOffset({ groupId: req.groupId, topic: o.topic, partition: o.partition, ...committed })
      return E.NONE
    })
  }

  /** One error code per offset, in request order. */
  commit(req: CommitRequest): number[] {
    const all = (code: number): number[] => req.offsets.map(() => code)
    const { groups, config } = this.state
    const consumerGroup = this.consumerGroups.get(req.groupId)
    if (consumerGroup !== undefined) return this.commitToConsumerGroup(consumerGroup, req)
    let group = groups.get(req.groupId)
    if (group === undefined) {
      // Without a generation the client manages partitions itself: the group is created just
      // to hold offsets. With one, the group it belonged to no longer exists.
      if (req.generationId >= 0) return all(E.ILLEGAL_GENERATION)
      group = new ClassicGroup(req.groupId, config.scheduler.now())
      groups.set(req.groupId, group)
    }
    const invalid = validateCommit(group, req)
    if (invalid !== null) return all(invalid)
    if (group.is('CompletingRebalance')) return all(E.REBALANCE_IN_PROGRESS)
    const member = group.members.get(req.memberId)
    // A commit shows the member is alive, as a heartbeat would.
    if (member !== undefined) this.membership.scheduleSession(group, member, member.sessionTimeoutMs)
    return this.store(group, req)
  }

  /** Offsets of the listed partitions, or of every partition with one when `topics` is null. */
  fetch(groupId: string, topics: readonly TopicPartitions[] | null, asking: FetchingMember = { memberId: null, memberEpoch: -1 }): { errorCode: number; topics: FetchedTopic[] } {
    const consumerGroup = this.consumerGroups.get(groupId)
    if (consumerGroup !== undefined) {
      const invalid = validateConsumerFetch(consumerGroup, asking.memberId, asking.memberEpoch)
      if (invalid !== null) return { errorCode: invalid, topics: [] }
    }
    const group = consumerGroup ?? this.state.groups.get(groupId)
    if (topics === null) {
      if (group === undefined) return { errorCode: E.NONE, topics: [] }
      const all = [...group.offsets].map(([topic, partitions]) => ({
        topic,
        partitions: [...partitions].map(([partition, c]) => ({ partition, offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata, errorCode: E.NONE })),
      }))
      return { errorCode: E.NONE, topics: all }
    }
    const listed = topics.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map((partition) => {
        const c = group?.offsetOf(topic, partition)
        if (c === undefined) return { partition, ...NO_OFFSET, errorCode: E.NONE }
        return { partition, offset: c.offset, leaderEpoch: c.leaderEpoch, metadata: c.metadata, errorCode: E.NONE }
      }),
    }))
    return { errorCode: E.NONE, topics: listed }
  }

  delete(groupId: string, topics: readonly TopicPartitions[]): DeleteOffsetsResult {
    const consumerGroup = this.consumerGroups.get(groupId)
    const group = consumerGroup ?? this.state.groups.get(groupId)
    if (group === undefined || (group instanceof ClassicGroup && group.is('Dead'))) return { errorCode: E.GROUP_ID_NOT_FOUND, topics: [] }
    // Offsets of a live group may go only for topics none of its consumers subscribe to.
    const live = group instanceof ClassicGroup ? !group.is('Empty') : !group.isEmpty
    if (live && group instanceof ClassicGroup && group.protocolType !== CONSUMER_PROTOCOL_TYPE) return { errorCode: E.NON_EMPTY_GROUP, topics: [] }
    const subscribed = group instanceof ClassicGroup ? (topic: string) => group.isSubscribedTo(topic) : (topic: string) => group.subscribedPartitions.has(topic)
    const result = topics.map(({ topic, partitions }) => {
      const refused = live && subscribed(topic)
      return {
        topic,
        partitions: partitions.map((partition) => {
          if (refused) return { partition, errorCode: E.GROUP_SUBSCRIBED_TO_TOPIC }
          if (group.deleteOffset(topic, partition)) this.state.store.deleteOffset(groupId, topic, partition)
          return { partition, errorCode: E.NONE }
        }),
      }
    })
    return { errorCode: E.NONE, topics: result }
  }
}

function validateCommit(group: ClassicGroup, req: CommitRequest): number | null {
  if (group.is('Dead')) return E.COORDINATOR_NOT_AVAILABLE
  if (req.generationId >= 0 || req.memberId.length > 0 || req.groupInstanceId !== null) {
    return validateCurrentMember(group, req.memberId, req.groupInstanceId) ?? (req.generationId !== group.generationId ? E.ILLEGAL_GENERATION : null)
  }
  // Commits without a generation are only for groups whose members do not use the coordinator.
  return group.is('Empty') ? null : E.UNKNOWN_MEMBER_ID
}
