/**
 * What the coordinator persists, and the in-memory store used without a data directory. Like
 * Kafka's __consumer_offsets, the durable form is a log of the latest value per key: an offset per
 * (group, topic, partition), a metadata record per group, and tombstones that delete either.
 */
import type { StoredConsumerGroup } from './consumer/persist.js'
import type { CommittedOffset } from './group.js'

export interface StoredMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly clientId: string
  readonly clientHost: string
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  /** The member's metadata for the group's chosen protocol (Kafka keeps only that one too). */
  readonly metadata: Buffer
  readonly assignment: Buffer
}

export interface StoredGroup {
  readonly groupId: string
  readonly protocolType: string | null
  readonly generationId: number
  readonly protocolName: string | null
  readonly leaderId: string | null
  readonly members: readonly StoredMember[]
}

export interface StoredOffset extends CommittedOffset {
  readonly groupId: string
  readonly topic: string
  readonly partition: number
}

/** Everything a store held when it was opened, folded to the latest value per key. */
export interface LoadedGroups {
  readonly groups: readonly StoredGroup[]
  readonly offsets: readonly StoredOffset[]
  /** KIP-848 groups (type "consumer"); absent from stores written before they existed. */
  readonly consumerGroups?: readonly StoredConsumerGroup[]
}

export interface GroupStore {
  readonly persistent: boolean
  load(): LoadedGroups
  saveGroup(group: StoredGroup): void
  saveConsumerGroup(group: StoredConsumerGroup): void
  /** Removes a consumer group's metadata only; its offsets stay with the group id (a change of group type). */
  deleteConsumerGroup(groupId: string): void
  saveOffset(offset: StoredOffset): void
  deleteOffset(groupId: string, topic: string, partition: number): void
  /** Removes the group's metadata and every offset it committed. */
  deleteGroup(groupId: string): void
  close(): void
}

/** Keeps nothing: the broker runs without a data directory, so groups end with the process. */
export class MemoryGroupStore implements GroupStore {
  readonly persistent = false
  load(): LoadedGroups {
    return { groups: [], offsets: [] }
  }
  saveGroup(): void {}
  saveConsumerGroup(): void {}
  deleteConsumerGroup(): void {}
  saveOffset(): void {}
  deleteOffset(): void {}
  deleteGroup(): void {}
  close(): void {}
}
