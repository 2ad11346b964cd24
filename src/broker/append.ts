/**
 * What a leader does with one partition's records: validate a produced batch, check the idempotent
 * producer's sequence and (for transactional batches) the transaction it belongs to, assign offsets
 * in place and append; and the transaction coordinator's COMMIT/ABORT markers, which go through
 * the same log and update the same producer and transaction state.
 */
import { DecodeError } from '../protocol/errors/base.js'
import { KafkaErrorCode } from '../protocol/errors/kafka-errors.js'
import type { Partition } from './cluster.js'
import { assignOffsets, encodeEndTransactionMarker, readVerifiedBatch, setLogAppendTime, type RecordBatchHeader } from './log/batches.js'
import { maxMessageBytes, usesLogAppendTime } from './topic-config.js'

export interface AppendResult {
  readonly errorCode: number
  readonly errorMessage: string | null
  /** -1 on error. */
  readonly baseOffset: number
  /** The broker's time for LogAppendTime topics, -1 otherwise. */
  readonly logAppendTime: number
}

function refuse(errorCode: number, errorMessage: string): AppendResult {
  return { errorCode, errorMessage, baseOffset: -1, logAppendTime: -1 }
}

/** Maps the records layer's decode failures onto the codes Kafka answers a producer with. */
function decodeFailure(error: DecodeError): AppendResult {
  switch (error.code) {
    case 'DECODE_CRC_MISMATCH':
      return refuse(KafkaErrorCode.CORRUPT_MESSAGE, error.message)
    case 'DECODE_UNSUPPORTED_VERSION':
      return refuse(KafkaErrorCode.INVALID_RECORD, `${error.message}; produce v3+ carries only magic v2 record batches`)
    case 'DECODE_COMPRESSION':
      return refuse(KafkaErrorCode.UNSUPPORTED_COMPRESSION_TYPE, error.message)
    default:
      return refuse(KafkaErrorCode.CORRUPT_MESSAGE, error.message)
  }
}

/** A problem the transaction coordinator finds with a transactional batch, or null when it may go in. */
export type TransactionVerifier = (header: RecordBatchHeader) => { readonly errorCode: number; readonly message: string } | null

/** The checks Kafka's LogValidator makes on a produced v2 batch before anything is appended. */
function validate(header: RecordBatchHeader, partition: Partition, verify: TransactionVerifier | null): AppendResult | null {
  const limit = maxMessageBytes(partition.topic.configs)
  if (header.sizeInBytes > limit) {
    return refuse(KafkaErrorCode.MESSAGE_TOO_LARGE, `batch of ${header.sizeInBytes} bytes exceeds max.message.bytes=${limit} of topic ${partition.topic.name}`)
  }
  if (header.isControl) return refuse(KafkaErrorCode.INVALID_RECORD, 'clients may not produce control batches')
  if (header.recordCount === 0 || header.lastOffsetDelta !== header.recordCount - 1) {
    return refuse(KafkaErrorCode.INVALID_RECORD, `batch declares ${header.recordCount} records but a last offset delta of ${header.lastOffsetDelta}`)
  }
  if (header.isTransactional) {
    if (header.producerId < 0n) return refuse(KafkaErrorCode.INVALID_RECORD, 'a transactional batch must carry a producer id')
    if (verify === null) return refuse(KafkaErrorCode.INVALID_RECORD, 'a transactional batch must come in a produce request that names its transactional id')
    const problem = verify(header)
    if (problem !== null) return refuse(problem.errorCode, problem.message)
  } else if (header.producerId >= 0n && partition.transactions.openTransaction(header.producerId) !== undefined) {
    return refuse(KafkaErrorCode.INVALID_TXN_STATE, `producer ${header.producerId} has a transaction open on this partition; end it before producing outside it`)
  }
  return null
}

/**
 * Appends the records of one partition of a Produce request. `records` must hold exactly one batch
 * (Kafka's rule for magic v2). Duplicates of one of the producer's last five batches are answered
 * with the offset they got the first time and not appended again.
 */
export function appendProduced(partition: Partition, records: Buffer | null, now: number, verify: TransactionVerifier | null = null): AppendResult {
  if (records === null || records.length === 0) return refuse(KafkaErrorCode.INVALID_RECORD, 'the partition carries no record batch')
  let header: RecordBatchHeader
  let end: number
  try {
    ;({ header, end } = readVerifiedBatch(records, 0))
  } catch (error) {
    if (error instanceof DecodeError) return decodeFailure(error)
    throw error
  }
  if (end !== records.length) return refuse(KafkaErrorCode.INVALID_RECORD, 'a produce request must carry exactly one record batch per partition')
  const invalid = validate(header, partition, verify)
  if (invalid !== null) return invalid

  const idempotent = header.producerId >= 0n
  if (idempotent) {
    const check = partition.producers.check(header)
    if (check.kind === 'duplicate') return { errorCode: 0, errorMessage: null, baseOffset: check.baseOffset, logAppendTime: -1 }
    if (check.kind === 'error') return refuse(check.errorCode, check.message)
  }

  const { log } = partition
  const batch = records.subarray(0, end)
  const baseOffset = log.logEndOffset
  assignOffsets(batch, baseOffset, partition.leaderEpoch)
  let maxTimestamp = header.maxTimestamp
  let logAppendTime = -1
  if (usesLogAppendTime(partition.topic.configs)) {
    setLogAppendTime(batch, now)
    maxTimestamp = now
    logAppendTime = now
  }
  log.append(batch, header.lastOffsetDelta + 1, maxTimestamp, now)
  if (idempotent) {
    partition.producers.record(header, baseOffset, maxTimestamp)
    partition.transactions.onData(header.producerId, header.producerEpoch, baseOffset, header.isTransactional)
  }
  return { errorCode: 0, errorMessage: null, baseOffset, logAppendTime }
}

/**
 * Appends the control batch that ends the producer's transaction on this partition (what a leader
 * does on WriteTxnMarkers) and returns its offset. The marker carries the coordinator's epoch for
 * the producer, which fences older epochs on this partition from then on.
 */
export function appendTransactionMarker(partition: Partition, marker: 'commit' | 'abort', producerId: bigint, producerEpoch: number, coordinatorEpoch: number, now: number): number {
  const batch = encodeEndTransactionMarker(marker, producerId, producerEpoch, coordinatorEpoch, now)
  const offset = partition.log.logEndOffset
  assignOffsets(batch, offset, partition.leaderEpoch)
  // The transaction state moves before the append wakes parked fetches, so they see the new LSO.
  partition.producers.recordMarker(producerId, producerEpoch, now)
  partition.transactions.onMarker(producerId, offset, marker === 'commit')
  partition.log.append(batch, 1, now, now)
  return offset
}
