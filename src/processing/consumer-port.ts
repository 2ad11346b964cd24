/**
 * The narrow surface the framework needs from a Kafka consumer and producer. baton's client
 * implements it through an adapter; tests use `FakeConsumer` from `./testing/fake-consumer.js`.
 *
 * The contract that makes the hand-off safe:
 * - the rebalance hooks are awaited: the consumer does not release revoked partitions (rejoin or
 *   acknowledge the revocation) until `onRevoke` resolves, and it keeps heartbeating meanwhile;
 * - `commit` uses the generation the member holds now and rejects with `StaleGenerationError` once
 *   that generation is no longer current, so a commit can never land for a partition another member
 *   owns;
 * - after `onAssign`, fetched batches of a partition start at its committed offset and arrive in
 *   offset order.
 */
import type { ConsumerGroupMetadata, TopicPartition } from '../client/index.js'

export type { TopicPartition }

export interface RecordHeader {
  readonly key: string
  readonly value: Buffer | null
}

/**
 * One record as fetched: raw bytes, absolute offset. It names its partition so the framework can
 * hand it on as is (baton's client records already do).
 */
export interface FetchedRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  /** Milliseconds since the epoch. */
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: readonly RecordHeader[]
}

/** The records one fetch returned for one partition. */
export interface FetchedBatch extends TopicPartition {
  /** In increasing offset order; may have gaps (compaction, transaction markers, aborted records). */
  readonly records: readonly FetchedRecord[]
  /**
   * The fetch position after this batch: the next offset the consumer will ask for. It may be past
   * the last record when the batch ended with offsets that carry no data record (control batches,
   * compacted-away records), and lets the committed offset move past them.
   */
  readonly nextOffset: bigint
  /** The partition's high watermark from the fetch response, for lag. */
  readonly highWatermark: bigint
}

/** A partition as it is assigned, with what the group committed for it. */
export interface AssignedPartition extends TopicPartition {
  /**
   * The group's committed offset for the partition when it was assigned (where fetching starts),
   * with the metadata stored beside it; null when nothing was committed. The previous owner can
   * leave notes in the metadata for the next one, such as the records done above the committed
   * offset (`./offset-metadata.js`); Kafka returns both in OffsetFetch. Metadata is null when
   * empty, which Kafka does not tell apart from none.
   */
  readonly committed: { readonly offset: bigint; readonly metadata: string | null } | null
}

export interface RebalanceListener {
  /** Partitions now owned by this member; fetching of each starts at its committed offset. */
  onAssign(partitions: readonly AssignedPartition[]): Promise<void>
  /**
   * Partitions about to be taken away while this member's generation is still valid. The consumer
   * waits for the returned promise before releasing them.
   */
  onRevoke(partitions: readonly TopicPartition[]): Promise<void>
  /**
   * Partitions already gone (session expired, fenced, illegal generation, unknown member):
   * commits for them would be rejected and another member may be processing them. KIP-429 split
   * this from revocation so that frameworks stop committing instead of racing the new owner.
   */
  onLost(partitions: readonly TopicPartition[]): Promise<void>
}

export interface ConsumerEvents extends RebalanceListener {
  onBatch(batch: FetchedBatch): void
  /** The consumer failed for good (not a retriable fetch error): the app stops. */
  onFatal(error: Error): void
}

/** An offset to commit: the next offset to consume, as Kafka stores it. */
export interface OffsetToCommit extends TopicPartition {
  readonly offset: bigint
  /**
   * Stored with the offset and handed to the partition's next owner in `onAssign`; absent means
   * empty. Brokers refuse the whole commit when it exceeds their offset.metadata.max.bytes (4096
   * by default).
   */
  readonly metadata?: string
}

/** What the consumer's group membership is doing, for readiness, logs and the unreachable check. */
export interface ConsumerStatus {
  readonly memberId: string
  readonly generationId: number
  /** `eager` or `cooperative` (the classic group protocol's two flavours). */
  readonly protocol: string
  /** Joined and assigned (possibly nothing); false while joining, syncing or lost. */
  readonly stable: boolean
  /** How long no broker the group needs has answered; 0 while the coordinator is reachable. */
  readonly unreachableMs: number
  /** What the group step under way waits for, in words for a log line; undefined when stable. */
  readonly waitingFor: string | undefined
}

export interface ConsumerPort {
  /**
   * Join the group for `topics` (a list, or a pattern every matching topic is consumed for) and
   * start fetching. Resolves once the consumer has started. Consumers that take only lists refuse a pattern.
   */
  start(topics: readonly string[] | RegExp, events: ConsumerEvents): Promise<void>
  /** Stop fetching these partitions (their queue is full); a fetch already under way may still arrive. */
  pause(partitions: readonly TopicPartition[]): void
  resume(partitions: readonly TopicPartition[]): void
  /**
   * Moves an owned partition's fetching to `offset` ('earliest'/'latest': the log's start or end,
   * looked up by the consumer). Once it returns, `onBatch` delivers no record of the partition
   * fetched before, and the next batch starts at the target. Throws for a partition the consumer
   * does not own (any more). Optional: without it, `app.seek` and `ctx.seek` are refused.
   */
  seek?(partition: TopicPartition, offset: SeekOffset): void
  /**
   * Where a partition's log starts ('earliest') or ends ('latest') now, so that a seek there has an
   * offset to commit at once. Optional: without it such a seek commits once records arrive.
   */
  offsetOf?(partition: TopicPartition, which: 'earliest' | 'latest'): Promise<bigint>
  /**
   * Commit with the current generation; rejects with `StaleGenerationError` when it is stale.
   * Retriable failures (coordinator moving or loading) are retried by the consumer itself: a
   * rejection during a revocation means the records since the last commit will be redone.
   */
  commit(offsets: readonly OffsetToCommit[]): Promise<void>
  /**
   * Leave the group and close. Revoked partitions go through `onRevoke` first, as in a rebalance.
   * With `timeoutMs`, whatever the group is doing (a join waiting for a crashed member's session)
   * is abandoned after it, its connections closed, so the close settles in bounded time.
   */
  close(options?: { readonly timeoutMs?: number }): Promise<void>
  /** The membership's state, when the consumer has one to tell. */
  status?(): ConsumerStatus
  /** The group, generation and member id now, for a transaction's offsets (KIP-447); the transactional delivery needs it. */
  groupMetadata?(): ConsumerGroupMetadata
}

/** A seek's target: an offset, or the partition's first offset or the one after its last record. */
export type SeekOffset = bigint | 'earliest' | 'latest'

export interface ProducedRecord {
  readonly topic: string
  readonly partition?: number
  readonly key?: Buffer | string | null
  readonly value: Buffer | string | null
  readonly headers?: readonly { readonly key: string; readonly value: Buffer | string | null }[]
}

export interface ProducerPort {
  /** Resolves once the record is acknowledged. */
  send(record: ProducedRecord): Promise<void>
  close(): Promise<void>
}
