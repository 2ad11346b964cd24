/**
 * One transactional id's state in the coordinator, as Kafka's TransactionMetadata keeps it: the
 * producer id and epoch that currently own it, the epoch before the last bump (so that a retried
 * KIP-360 InitProducerId is recognised), the transaction's partitions and consumer groups, and the
 * offsets it will commit. Its states are in state.ts.
 */
import { partitionKey } from '../../protocol/topic-partition.js'
import type { Timer } from '../groups/scheduler.js'
import type { TransactionState } from './state.js'
import type { StoredTransaction } from './store.js'

/** Kafka's NO_PRODUCER_EPOCH / NO_PRODUCER_ID. */
export const NO_EPOCH = -1
export const NO_PRODUCER_ID = -1n
/** An epoch at Short.MAX_VALUE - 1 cannot be bumped again: the id is replaced instead. */
export const MAX_USABLE_EPOCH = 32766

/** The internal topic that consumer group offsets of a transaction are reported under. */
export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets'

export interface PendingOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly leaderEpoch: number
  readonly metadata: string | null
}

export class TransactionMetadata {
  producerId: bigint
  previousProducerId: bigint = NO_PRODUCER_ID
  producerEpoch: number
  lastProducerEpoch: number = NO_EPOCH
  timeoutMs: number
  state: TransactionState = 'Empty'
  /** The transaction's partitions, data partitions and the groups' offsets partitions alike. */
  readonly partitions = new Map<string, { readonly topic: string; readonly partition: number }>()
  /** Groups added with AddOffsetsToTxn. */
  readonly groups = new Set<string>()
  /** TxnOffsetCommit offsets by group, then by partition: visible only once the transaction commits. */
  readonly pendingOffsets = new Map<string, Map<string, PendingOffset>>()
  /** When the transaction became Ongoing; -1 outside one. */
  startTimestamp = -1
  lastUpdateTimestamp: number
  /** The timeout's timer while Ongoing. */
  timer: Timer | null = null

  constructor(
    readonly transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    timeoutMs: number,
    now: number,
  ) {
    this.producerId = producerId
    this.producerEpoch = producerEpoch
    this.timeoutMs = timeoutMs
    this.lastUpdateTimestamp = now
  }

  hasPartition(topic: string, partition: number): boolean {
    return this.partitions.has(partitionKey(topic, partition))
  }

  addPartition(topic: string, partition: number): void {
    this.partitions.set(partitionKey(topic, partition), { topic, partition })
  }

  addPendingOffset(groupId: string, offset: PendingOffset): void {
    let group = this.pendingOffsets.get(groupId)
    if (group === undefined) this.pendingOffsets.set(groupId, (group = new Map<string, PendingOffset>()))
    group.set(partitionKey(offset.topic, offset.partition), offset)
  }

  hasPendingOffset(groupId: string, topic: string, partition: number): boolean {
    return this.pendingOffsets.get(groupId)?.has(partitionKey(topic, partition)) ?? false
  }

  /** Forgets the finished transaction: partitions, groups and offsets. */
  clearTransaction(): void {
    this.partitions.clear()
    this.groups.clear()
    this.pendingOffsets.clear()
    this.startTimestamp = -1
  }

  /**
   * Bumps the epoch so that the current holder's next request is refused (Kafka's
   * PrepareEpochFence): on a takeover by InitProducerId and on a transaction timeout.
   */
  fenceEpoch(): void {
    if (this.producerEpoch <= MAX_USABLE_EPOCH) this.producerEpoch++
    this.lastProducerEpoch = NO_EPOCH
  }

  get isOpen(): boolean {
    return this.state === 'Ongoing' || this.state === 'PrepareCommit' || this.state === 'PrepareAbort'
  }

  snapshot(): StoredTransaction {
    return {
      transactionalId: this.transactionalId,
      producerId: this.producerId.toString(),
      previousProducerId: this.previousProducerId.toString(),
      producerEpoch: this.producerEpoch,
      lastProducerEpoch: this.lastProducerEpoch,
      timeoutMs: this.timeoutMs,
      state: this.state,
      partitions: [...this.partitions.values()].map((p) => [p.topic, p.partition] as const),
      groups: [...this.groups],
      pendingOffsets: [...this.pendingOffsets].flatMap(([groupId, offsets]) =>
        [...offsets.values()].map((o) => ({ groupId, topic: o.topic, partition: o.partition, offset: o.offset.toString(), leaderEpoch: o.leaderEpoch, metadata: o.metadata })),
      ),
      startTimestamp: this.startTimestamp,
      lastUpdateTimestamp: this.lastUpdateTimestamp,
    }
  }

  static restore(stored: StoredTransaction): TransactionMetadata {
    const txn = new TransactionMetadata(stored.transactionalId, BigInt(stored.producerId), stored.producerEpoch, stored.timeoutMs, stored.lastUpdateTimestamp)
    txn.previousProducerId = BigInt(stored.previousProducerId)
    txn.lastProducerEpoch = stored.lastProducerEpoch
    txn.state = stored.state
    for (const [topic, partition] of stored.partitions) txn.addPartition(topic, partition)
    for (const g of stored.groups) txn.groups.add(g)
    for (const o of stored.pendingOffsets) {
      txn.addPendingOffset(o.groupId, { topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: o.leaderEpoch, metadata: o.metadata })
    }
    txn.startTimestamp = stored.startTimestamp
    return txn
  }
}
