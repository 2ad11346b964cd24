/**
 * The assignor contract. Assignors are pure: given every member's subscription and the partition
 * count of each topic, they return each member's partitions. Only the leader runs one, but every
 * member must agree on the protocol name, and a leader from another client (Java, librdkafka,
 * KafkaJS) may compute the assignment instead, so names and user data follow Kafka's.
 */
import type { TopicPartitions } from '../topic-partitions.js'

export type RebalanceProtocol = 'eager' | 'cooperative'

/** One member as the leader sees it in the JoinGroup response, its subscription decoded. */
export interface MemberSubscription {
  memberId: string
  /** Static membership id (KIP-345); range and round-robin order static members by it. */
  groupInstanceId: string | null
  topics: readonly string[]
  ownedPartitions: readonly TopicPartitions[]
  /** The generation the member last had an assignment in, or -1. */
  generationId: number
  userData: Buffer | null
  rackId: string | null
}

export interface AssignmentInput {
  members: readonly MemberSubscription[]
  /** Partition count of each topic known to exist; subscribed topics missing here get nothing. */
  partitionsPerTopic: ReadonlyMap<string, number>
}

export interface MemberAssignmentResult {
  partitions: TopicPartitions[]
  userData: Buffer | null
}

/** What a member remembers between rebalances, from which some assignors build subscription user data. */
export interface AssignorMemberState {
  /** The generation of the last assignment received, or -1. */
  generationId: number
  /** The partitions of that assignment. */
  assigned: readonly TopicPartitions[]
}

export interface PartitionAssignor {
  /** The protocol name sent in JoinGroup; members of one group must share at least one. */
  readonly name: string
  /**
   * The protocols this assignor supports, preferred first. A group runs cooperatively only if the
   * chosen assignor supports it; the member falls back to eager otherwise (as Kafka's clients do).
   */
  readonly protocols: readonly RebalanceProtocol[]
  /** Bytes for the subscription's user data; most assignors send none. */
  subscriptionUserData?(state: AssignorMemberState): Buffer | null
  assign(input: AssignmentInput): Map<string, MemberAssignmentResult>
}
