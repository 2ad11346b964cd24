/**
 * The framework's `ConsumerPort` over baton's `GroupConsumer`.
 *
 * The port's contract maps onto the group consumer directly: its rebalance hooks are awaited by the
 * member (so the processor's drain-and-commit in `onRevoke` finishes before the partitions are
 * released), commits go out under the member's current generation (with their metadata), and
 * after `onAssign` a partition is fetched from its committed offset. `onAssign` gets the metadata
 * committed with that offset: Kafka returns both in the one OffsetFetch the group consumer makes
 * at each assignment, so the previous owner's notes cost no extra request. A commit the
 * coordinator refuses because the group moved on becomes `StaleGenerationError`, which the
 * processor treats as "the next owner redoes it" rather than as a failure.
 */
import {
  CommitFailedError,
  GroupConsumer,
  KafkaError,
  KafkaErrorCode,
  PartitionNotOwnedError,
  partitionKey,
  type ConsumerGroupMetadata,
  type GroupConsumerBatch,
  type GroupConsumerConfig,
  type TopicPartitions,
} from '../../client/index.js'
import type { AssignedPartition, ConsumerEvents, ConsumerPort, ConsumerStatus, FetchedBatch, OffsetToCommit, SeekOffset, TopicPartition } from '../consumer-port.js'
import { CommitMetadataTooLargeError, StaleGenerationError } from '../errors.js'

/** The group consumer's options without the hooks, which the port supplies. */
export type GroupConsumerPortConfig = Omit<GroupConsumerConfig, 'hooks'>

export class GroupConsumerPort implements ConsumerPort {
  readonly consumer: GroupConsumer
  private events: ConsumerEvents | undefined
  private pump: Promise<void> | undefined
  private closing: Promise<void> | undefined

  /** Tests and the lab inject faults through the group consumer's own `faults` option. */
  constructor(config: GroupConsumerPortConfig) {
    const withHooks: GroupConsumerConfig = {
      ...config,
      hooks: {
        onAssign: (groups) => this.events?.onAssign(this.assignedOf(groups)),
        onRevoke: (groups) => this.events?.onRevoke(partitionsOf(groups)),
        onLost: (groups) => this.events?.onLost(partitionsOf(groups)),
      },
    }
    this.consumer = new GroupConsumer(withHooks)
  }

  start(topics: readonly string[] | RegExp, events: ConsumerEvents): Promise<void> {
    this.events = events
    this.consumer.subscribe(topics)
    this.pump = this.deliver(events)
    return Promise.resolve()
  }

  /**
   * The processor pauses a partition because its queue is full. Fetching goes on into the group
   * consumer's bounded buffer, so that the partition's records are at hand when the queue drains;
   * stopping the fetches as well made every pause cost a fetch round trip with the queue empty.
   */
  pause(partitions: readonly TopicPartition[]): void {
    const owned = this.owned(partitions)
    if (owned.length > 0) this.consumer.pause(owned, { prefetch: true })
  }

  resume(partitions: readonly TopicPartition[]): void {
    const owned = this.owned(partitions)
    if (owned.length > 0) this.consumer.resume(owned)
  }

  /** `GroupConsumer.seek`; it throws `PartitionNotOwnedError` for a partition it no longer owns. */
  seek(partition: TopicPartition, offset: SeekOffset): void {
    this.consumer.seek({ topic: partition.topic, partition: partition.partition }, offset)
  }

  async offsetOf(partition: TopicPartition, which: 'earliest' | 'latest'): Promise<bigint> {
    const [found] = await this.consumer.offsetsFor([{ topic: partition.topic, partition: partition.partition }], which)
    if (found === undefined) throw new KafkaError(KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { api: 'ListOffsets', topic: partition.topic, partition: partition.partition })
    return found.offset
  }

  async commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    try {
      await this.consumer.commit(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata })))
    } catch (error) {
      if (error instanceof CommitFailedError && (error.code === 'GROUP_COMMIT_REBALANCE' || error.code === 'GROUP_COMMIT_NOT_MEMBER')) {
        throw new StaleGenerationError(error.message, this.consumer.generationId, { cause: error })
      }
      if (error instanceof CommitFailedError && error.kafkaError?.errorCode === KafkaErrorCode.OFFSET_METADATA_TOO_LARGE) {
        throw new CommitMetadataTooLargeError(error.message, { cause: error })
      }
      if (error instanceof PartitionNotOwnedError) {
        throw new StaleGenerationError(error.message, this.consumer.generationId, { cause: error })
      }
      throw error
    }
  }

  close(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      await this.consumer.close(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })
      await this.pump
    })()
    return this.closing
  }

  groupMetadata(): ConsumerGroupMetadata {
    return this.consumer.groupMetadata()
  }

  status(): ConsumerStatus {
    const c = this.consumer
    return { memberId: c.memberId, generationId: c.generationId, protocol: c.protocol, stable: c.state === 'stable', unreachableMs: c.unreachableMs, waitingFor: c.waitingFor }
  }

  /**
   * Hands every fetched batch to the processor, which queues it and returns at once; partitions it
   * has paused still let this loop wait on the others, so the member keeps counting as polling.
   */
  private async deliver(events: ConsumerEvents): Promise<void> {
    try {
      // A batch overtaken by a seek on its way here is dropped: checked with no await before onBatch.
      for await (const batch of this.consumer.batches()) if (!this.consumer.isStale(batch)) events.onBatch(toFetched(batch))
    } catch (error) {
      if (this.closing === undefined) events.onFatal(error instanceof Error ? error : new Error(String(error)))
    }
  }

  /** Runs inside the group consumer's onAssign hook, where `resumedFrom` already holds what the assignment read. */
  private assignedOf(groups: readonly TopicPartitions[]): AssignedPartition[] {
    return partitionsOf(groups).map((tp) => {
      const resumed = this.consumer.resumedFrom(tp)
      if (resumed === undefined || resumed.offset === null) return { topic: tp.topic, partition: tp.partition, committed: null }
      // Kafka stores a missing metadata as '': both mean "none".
      const metadata = resumed.metadata === '' ? null : resumed.metadata
      return { topic: tp.topic, partition: tp.partition, committed: { offset: resumed.offset, metadata } }
    })
  }

  private owned(partitions: readonly TopicPartition[]): TopicPartition[] {
    const owned = new Set(this.consumer.assignment().map((tp) => partitionKey(tp)))
    return partitions.filter((tp) => owned.has(partitionKey(tp))).map((tp) => ({ topic: tp.topic, partition: tp.partition }))
  }
}

function partitionsOf(groups: readonly TopicPartitions[]): TopicPartition[] {
  return groups.flatMap((g) => g.partitions.map((partition) => ({ topic: g.topic, partition })))
}

function toFetched(batch: GroupConsumerBatch): FetchedBatch {
  return { topic: batch.topic, partition: batch.partition, records: batch.records, nextOffset: batch.nextOffset, highWatermark: batch.highWatermark }
}
