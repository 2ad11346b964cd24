/**
 * Idempotent producers (KIP-98): producer id allocation for InitProducerId, and each partition's
 * record of the last batches every producer wrote, which is what lets a retried batch be recognised.
 *
 * The sequence rules follow Kafka's ProducerStateManager: per (producer id, partition) a batch must
 * start right after the previous one; a batch equal to one of the last five is a duplicate, answered
 * with its original offset and not appended again (five being the most in-flight requests an
 * idempotent producer may have); an older epoch is fenced; a new epoch, or a producer the partition
 * has never seen, must start at sequence 0. The transaction coordinator will hang its state off
 * ProducerIds without changing these checks.
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
  batches: RetainedBatch[]
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
    if (latest === undefined || firstSeq === nextSequence(latest.lastSeq)) return { kind: 'append' }
    return {
      kind: 'error',
      errorCode: KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      message: `expected sequence ${nextSequence(latest.lastSeq)} but the batch starts at ${firstSeq}`,
    }
  }

  /** Records an appended batch (or one found during recovery). */
  record(batch: ProducerBatchInfo, baseOffset: number): void {
    let entry = this.producers.get(batch.producerId)
    if (entry === undefined || batch.producerEpoch !== entry.epoch) {
      entry = { epoch: batch.producerEpoch, batches: [] }
      this.producers.set(batch.producerId, entry)
    }
    entry.batches.push({ firstSeq: batch.baseSequence, lastSeq: lastSequence(batch), baseOffset })
    if (entry.batches.length > RETAINED_BATCHES) entry.batches.shift()
  }
}

/** Producer ids of the cluster: allocated by InitProducerId, epochs bumped on re-initialisation (KIP-360). */
export class ProducerIds {
  private next = 1000n
  private readonly epochs = new Map<bigint, number>()

  allocate(): { producerId: bigint; producerEpoch: number } {
    const producerId = this.next++
    this.epochs.set(producerId, 0)
    return { producerId, producerEpoch: 0 }
  }

  /**
   * KIP-360: a producer that knows its id and epoch asks for the next epoch instead of a new id.
   * Null when the pair is not the current one (the caller answers INVALID_PRODUCER_EPOCH).
   */
  bumpEpoch(producerId: bigint, producerEpoch: number): { producerId: bigint; producerEpoch: number } | null {
    const current = this.epochs.get(producerId)
    if (current !== producerEpoch) return null
    if (current >= 32766) return this.allocate()
    this.epochs.set(producerId, current + 1)
    return { producerId, producerEpoch: current + 1 }
  }

  /** Keeps ids found in recovered logs from being handed out again. */
  observe(producerId: bigint, producerEpoch: number): void {
    if (producerId < 0n) return
    if (producerId >= this.next) this.next = producerId + 1n
    const current = this.epochs.get(producerId)
    if (current === undefined || producerEpoch > current) this.epochs.set(producerId, producerEpoch)
  }
}
