/**
 * What a subscribing consumer needs of a group membership, whichever protocol runs it: the classic
 * one (`GroupMember`: JoinGroup/SyncGroup, client-side assignors) or KIP-848's
 * (`ConsumerGroupMember`: ConsumerGroupHeartbeat, the coordinator assigns). Both run the same
 * hooks with the same promises: onRevoke awaited before the partitions are released, onAssign on
 * each assignment, onLost when ownership was lost.
 */
import type { BatonError } from '../../protocol/errors/base.js'
import type { CommitOffset } from './commit.js'
import type { CommittedOffset } from './committed.js'
import type { ConsumerMemberState } from './kip848/state.js'
import type { MemberState } from './state.js'
import type { TopicPartition, TopicPartitions } from './topic-partitions.js'

/** `'classic'`: JoinGroup/SyncGroup with client-side assignors; `'consumer'`: KIP-848 (Kafka 4), the coordinator assigns. */
export type GroupProtocol = 'classic' | 'consumer'

export type MembershipState = MemberState | ConsumerMemberState
export type MembershipStateListener = (to: MembershipState, from: MembershipState) => void

export interface GroupMembership {
  readonly groupId: string
  readonly state: MembershipState
  readonly memberId: string
  /** The classic generation, or the KIP-848 member epoch. */
  readonly generationId: number
  readonly failure: BatonError | undefined
  /** Heartbeats sent so far (tests and diagnostics). */
  readonly heartbeatsSent: number
  /** `eager` or `cooperative` (classic, from the assignors), or `consumer` (KIP-848). */
  readonly protocol: string
  onStateChange(listener: MembershipStateListener): () => void
  subscribe(topics: readonly string[] | RegExp): void
  poll(): void
  requestRejoin(reason: string): void
  refreshMetadata(): Promise<void>
  commit(offsets: readonly CommitOffset[], options?: { timeoutMs?: number }): Promise<void>
  committed(partitions: readonly TopicPartition[], options?: { requireStable?: boolean; timeoutMs?: number }): Promise<CommittedOffset[]>
  assignment(): TopicPartitions[]
  close(): Promise<void>
}
