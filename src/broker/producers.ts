/**
 * Idempotent producers (KIP-98): producer id allocation for InitProducerId, and each partition's
 * record of the last batches every producer wrote, which is what lets a retried batch be recognised.
 *
 * The sequence rules follow Kafka's ProducerStateManager: per (producer id, partition) a batch must
 * start right after the previous one; a batch equal to one of the last five is a duplicate, answered
 * with its original offset and not appended again (five being the most in-flight requests an
 * idempotent producer may have); an older epoch is fenced; a new epoch, or a producer the partition
 * has never seen, must start at sequence 0. Transaction markers carry the coordinator's epoch for
 * the producer: a marker with a newer epoch (a fenced or timed-out transaction) moves the partition
 * to that epoch, so the old one is fenced here too and the next epoch starts again at sequence 0.
 */
import { KafkaErrorCode } from '../protocol/errors/kafka-errors.js'

const INT32_MAX = 2147483647
/** Kafka keeps this many batches per producer for duplicate detection. */
const RETAINED_BATCHES = 5

export interface ProducerBatchInfo {
  readonly producerId: bigint
  readonly producerEpoch: number
  readonly baseSequence: number
  /** lastOffsetDelta of the batch: sequences advance by one per record. */
  readonly lastOffsetDelta: number
}

interface RetainedBatch {
  readonly firstSeq: number
  readonly lastSeq: number
  readonly baseOffset: number
}

interface ProducerEntry {
  epoch: number
  /** Empty only after a marker moved the producer to a new epoch: its next batch must start at 0. */
  batches: RetainedBatch[]
  lastTimestamp: number
}

/** What DescribeProducers reports about one producer of a partition. */
export interface ProducerSummary {
  readonly producerId: bigint
  readonly producerEpoch: number
  /** -1 when the producer has written only markers in its current epoch. */
  readonly lastSequence: number
  readonly lastTimestamp: number
}

export type SequenceCheck =
  | { readonly kind: 'append' }
  | { readonly kind: 'duplicate'; readonly baseOffset: number }
  | { readonly kind: 'error'; readonly errorCode: number; readonly message: string }

/** Sequences wrap to 0 after Int32.MAX, as in Kafka. */
function lastSequence(batch: ProducerBatchInfo): number {
  const last = batch.baseSequence + batch.lastOffsetDelta
  return last > INT32_MAX ? last - INT32_MAX - 1 : last
}

function nextSequence(seq: number): number {
  return seq === INT32_MAX ? 0 : seq + 1
}

/** One partition's producer state. */
export class PartitionProducers {
  private readonly producers = new Map<bigint, ProducerEntry>()

  check(batch: ProducerBatchInfo): SequenceCheck {
    const entry = this.producers.get(batch.producerId)
    const firstSeq = batch.baseSequence
    if (entry === undefined || batch.producerEpoch > entry.epoch) {
      if (firstSeq === 0) return { kind: 'append' }
      const why = entry === undefined ? 'the partition has no state for this producer' : `epoch ${batch.producerEpoch} is new`
      return { kind: 'error', errorCode: KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `${why}, so its first sequence must be 0, not ${firstSeq}` }
    }
    if (batch.producerEpoch < entry.epoch) {
      return {
        kind: 'error',
        errorCode: KafkaErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer epoch ${batch.producerEpoch} is older than the current epoch ${entry.epoch}: this producer has been fenced`,
      }
    }
    const lastSeq = lastSequence(batch)
    const duplicate = entry.batches.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq)
    if (duplicate !== undefined) return { kind: 'duplicate', baseOffset: duplicate.baseOffset }
    const latest = entry.batches[entry.batches.length - 1]
    if (latest === undefined ? firstSeq === 0 : firstSeq === nextSequence(latest.lastSeq)) return { kind: 'append' }
    if (latest === undefined) {
      return { kind: 'error', errorCode: KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, message: `epoch ${batch.producerEpoch} is new on this partition, so its first sequence must be 0, not ${firstSeq}` }
    }
    return {
      kind: 'error',
      errorCode: KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      message: `expected sequence ${nextSequence(latest.lastSeq)} but the batch starts at ${firstSeq}`,
    }
  }

  /** Records an appended batch (or one found during recovery). */
  record(batch: ProducerBatchInfo, baseOffset: number, timestamp = -1): void {
    let entry = this.producers.get(batch.producerId)
    if (entry === undefined || batch.producerEpoch !== entry.epoch) {
      entry = { epoch: batch.producerEpoch, batches: [], lastTimestamp: timestamp }
      this.producers.set(batch.producerId, entry)
    }
    entry.lastTimestamp = Math.max(entry.lastTimestamp, timestamp)
    entry.batches.push({ firstSeq: batch.baseSequence, lastSeq: lastSequence(batch), baseOffset })
    if (entry.batches.length > RETAINED_BATCHES) entry.batches.shift()
  }

  /** A transaction marker of the producer was appended: a newer epoch replaces the older one's state. */
  recordMarker(producerId: bigint, producerEpoch: number, timestamp: number): void {
    const entry = this.producers.get(producerId)
    if (entry === undefined || producerEpoch > entry.epoch) {
      this.producers.set(producerId, { epoch: producerEpoch, batches: [], lastTimestamp: timestamp })
      return
    }
    entry.lastTimestamp = Math.max(entry.lastTimestamp, timestamp)
  }

  /** The epoch this partition holds for the producer, or undefined if it has never seen it. */
  epochOf(producerId: bigint): number | undefined {
    return this.producers.get(producerId)?.epoch
  }

  describe(): ProducerSummary[] {
    return [...this.producers].map(([producerId, entry]) => ({
      producerId,
      producerEpoch: entry.epoch,
      lastSequence: entry.batches[entry.batches.length - 1]?.lastSeq ?? -1,
      lastTimestamp: entry.lastTimestamp,
    }))
  }
}

/**
 * Producer ids of the cluster, as Kafka's producer id manager hands them out: never the same id
 * twice, including across restarts (ids found in recovered logs and transaction state are
 * observed). Epochs belong to whoever holds the id: the transaction coordinator for transactional
 * ids, the producer itself for idempotent ones.
 */
export class ProducerIds {
  private next = 1000n

  allocate(): bigint {
    return this.next++
  }

  /** Keeps ids found in recovered logs from being handed out again. */
  observe(producerId: bigint): void {
    if (producerId >= this.next) this.next = producerId + 1n
  }
}
