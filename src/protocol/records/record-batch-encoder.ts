import { EncodeError } from '../errors/base.js'
import { Writer } from '../primitives/writer.js'
import {
  ATTRIBUTE_CONTROL,
  ATTRIBUTE_TRANSACTIONAL,
  ATTRIBUTES_AT,
  BASE_OFFSET_AT,
  BASE_SEQUENCE_AT,
  BASE_TIMESTAMP_AT,
  BATCH_LENGTH_AT,
  CRC_AT,
  LAST_OFFSET_DELTA_AT,
  LOG_OVERHEAD,
  MAGIC_AT,
  MAGIC_V2,
  MAX_TIMESTAMP_AT,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  PARTITION_LEADER_EPOCH_AT,
  PRODUCER_EPOCH_AT,
  PRODUCER_ID_AT,
  RECORD_COUNT_AT,
  RECORDS_AT,
} from './batch-layout.js'
import { type CompressionCodec, compress, compressionCodecId } from './compression.js'
import { CONTROL_TYPE_ABORT, CONTROL_TYPE_COMMIT, encodeControlRecordKey, encodeEndTransactionMarkerValue } from './control-record.js'
import { crc32c } from './crc32c.js'
import { measureRecords, writeInt64FromNumber, writeRecords } from './records-encoder.js'
import type { RecordInput } from './types.js'

export interface RecordBatchInput {
  readonly records: readonly RecordInput[]
  /** 0 from producers: the partition leader assigns the real offsets. */
  readonly baseOffset?: bigint
  /** -1 from producers: the leader stamps its epoch (KIP-101). */
  readonly partitionLeaderEpoch?: number
  readonly compression?: CompressionCodec
  /** -1 unless idempotent or transactional (KIP-98). */
  readonly producerId?: bigint
  readonly producerEpoch?: number
  readonly baseSequence?: number
  readonly transactional?: boolean
  /**
   * Uncompressed batches only: encode into this buffer when it is large enough (the result is then
   * a view of it), so that a producer can reuse the buffers of acknowledged batches.
   */
  readonly into?: Buffer
}

export interface ControlBatchInput {
  readonly marker: 'abort' | 'commit'
  readonly producerId: bigint
  readonly producerEpoch: number
  /** The transaction coordinator's epoch, which fences zombie coordinators. */
  readonly coordinatorEpoch: number
  readonly timestamp: number
  readonly baseOffset?: bigint
  readonly partitionLeaderEpoch?: number
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

function checkInt(name: string, value: number, bits: 16 | 32): void {
  const limit = 2 ** (bits - 1)
  if (!Number.isInteger(value) || value < -limit || value >= limit) throw new EncodeError(`${name} ${value} is not an int${bits}`)
}

function checkInt64(name: string, value: bigint): void {
  if (value < INT64_MIN || value > INT64_MAX) throw new EncodeError(`${name} ${value} is not an int64`)
}

interface BatchFields {
  readonly baseOffset: bigint
  readonly partitionLeaderEpoch: number
  readonly attributes: number
  readonly producerId: bigint
  readonly producerEpoch: number
  readonly baseSequence: number
}

function encodeBatch(fields: BatchFields, records: readonly RecordInput[], compression: CompressionCodec, into?: Buffer): Buffer {
  checkInt64('baseOffset', fields.baseOffset)
  checkInt64('producerId', fields.producerId)
  checkInt('partitionLeaderEpoch', fields.partitionLeaderEpoch, 32)
  checkInt('producerEpoch', fields.producerEpoch, 16)
  checkInt('baseSequence', fields.baseSequence, 32)
  const prepared = measureRecords(records)

  let batch: Buffer
  if (compression === 'none') {
    const size = RECORDS_AT + prepared.byteLength
    const writer = into !== undefined && into.length >= size ? Writer.over(into) : new Writer(size)
    writer.reserve(RECORDS_AT)
    writeRecords(writer, records, prepared)
    batch = writer.finish()
  } else {
    const writer = new Writer(prepared.byteLength)
    writeRecords(writer, records, prepared)
    const payload = compress(compression, writer.finish())
    batch = Buffer.allocUnsafe(RECORDS_AT + payload.length)
    payload.copy(batch, RECORDS_AT)
  }

  batch.writeBigInt64BE(fields.baseOffset, BASE_OFFSET_AT)
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH_AT)
  batch.writeInt32BE(fields.partitionLeaderEpoch, PARTITION_LEADER_EPOCH_AT)
  batch.writeInt8(MAGIC_V2, MAGIC_AT)
  batch.writeUInt16BE(fields.attributes | compressionCodecId(compression), ATTRIBUTES_AT)
  batch.writeInt32BE(prepared.count - 1, LAST_OFFSET_DELTA_AT)
  writeInt64FromNumber(batch, BASE_TIMESTAMP_AT, prepared.baseTimestamp)
  writeInt64FromNumber(batch, MAX_TIMESTAMP_AT, prepared.maxTimestamp)
  batch.writeBigInt64BE(fields.producerId, PRODUCER_ID_AT)
  batch.writeInt16BE(fields.producerEpoch, PRODUCER_EPOCH_AT)
  batch.writeInt32BE(fields.baseSequence, BASE_SEQUENCE_AT)
  batch.writeInt32BE(prepared.count, RECORD_COUNT_AT)
  batch.writeUInt32BE(crc32c(batch, ATTRIBUTES_AT, batch.length), CRC_AT)
  return batch
}

/**
 * Encodes records as one magic v2 batch, the way a producer sends them: offset deltas 0..n-1,
 * create-time timestamps relative to the first record's, the CRC-32C filled in. Brokers rewrite
 * the base offset, leader epoch and (for LogAppendTime topics) the max timestamp in place with
 * `RecordBatchView`.
 */
export function encodeRecordBatch(input: RecordBatchInput): Buffer {
  const fields: BatchFields = {
    baseOffset: input.baseOffset ?? 0n,
    partitionLeaderEpoch: input.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    attributes: input.transactional === true ? ATTRIBUTE_TRANSACTIONAL : 0,
    producerId: input.producerId ?? NO_PRODUCER_ID,
    producerEpoch: input.producerEpoch ?? NO_PRODUCER_EPOCH,
    baseSequence: input.baseSequence ?? NO_SEQUENCE,
  }
  return encodeBatch(fields, input.records, input.compression ?? 'none', input.into)
}

/**
 * Encodes the control batch that ends a transaction on one partition (written by a partition
 * leader on the transaction coordinator's WriteTxnMarkers): transactional and control bits set,
 * one uncompressed record whose key and value hold the marker.
 */
export function encodeControlBatch(input: ControlBatchInput): Buffer {
  checkInt('coordinatorEpoch', input.coordinatorEpoch, 32)
  const record: RecordInput = {
    key: encodeControlRecordKey(input.marker === 'abort' ? CONTROL_TYPE_ABORT : CONTROL_TYPE_COMMIT),
    value: encodeEndTransactionMarkerValue(input.coordinatorEpoch),
    timestamp: input.timestamp,
  }
  const fields: BatchFields = {
    baseOffset: input.baseOffset ?? 0n,
    partitionLeaderEpoch: input.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH,
    attributes: ATTRIBUTE_TRANSACTIONAL | ATTRIBUTE_CONTROL,
    producerId: input.producerId,
    producerEpoch: input.producerEpoch,
    baseSequence: NO_SEQUENCE,
  }
  return encodeBatch(fields, [record], 'none')
}
