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

  constructor(state: CoordinatorState, membership: Membership) {
    this.state = state
    this.membership = membership
  }

  /** One error code per offset, in request order. */
  commit(req: CommitRequest): number[] {
    const all = (code: number): number[] => req.offsets.map(() => code)
    const { groups, config } = this.state
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
    const now = config.scheduler.now()
    return req.offsets.map((o) => {
      if (o.metadata !== null && Buffer.byteLength(o.metadata) > config.offsetMetadataMaxBytes) return E.OFFSET_METADATA_TOO_LARGE
      const committed = { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: o.commitTimestamp >= 0 ? o.commitTimestamp : now }
      group.setOffset(o.topic, o.partition, committed)
      this.state.store.saveOffset({ groupId: req.groupId, topic: o.topic, partition: o.partition, ...committed })
      return E.NONE
    })
  }

  /** Offsets of the listed partitions, or of every partition with one when `topics` is null. */
  fetch(groupId: string, topics: readonly TopicPartitions[] | null): { errorCode: number; topics: FetchedTopic[] } {
    const group = this.state.groups.get(groupId)
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
    const group = this.state.groups.get(groupId)
    if (group === undefined || group.is('Dead')) return { errorCode: E.GROUP_ID_NOT_FOUND, topics: [] }
    // Offsets of a live group may go only for topics none of its consumers subscribe to.
    const live = !group.is('Empty')
    if (live && group.protocolType !== CONSUMER_PROTOCOL_TYPE) return { errorCode: E.NON_EMPTY_GROUP, topics: [] }
    const result = topics.map(({ topic, partitions }) => {
      const refused = live && group.isSubscribedTo(topic)
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
