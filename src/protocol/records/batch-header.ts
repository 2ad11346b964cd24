import { DecodeError } from '../errors/base.js'
import {
  ATTRIBUTE_COMPRESSION_MASK,
  ATTRIBUTE_CONTROL,
  ATTRIBUTE_DELETE_HORIZON,
  ATTRIBUTE_LOG_APPEND_TIME,
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
  MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH_AT,
  PRODUCER_EPOCH_AT,
  PRODUCER_ID_AT,
  RECORD_COUNT_AT,
  RECORDS_AT,
  readInt64AsNumber,
} from './batch-layout.js'
import { compressionCodecFromId } from './compression.js'
import { corruptRecords } from './corrupt.js'
import { crc32c } from './crc32c.js'
import type { RecordBatchHeader } from './types.js'

/**
 * Checks the framing of the v2 batch starting at `start` (room for a header, a sane batchLength,
 * every byte present, magic 2) and returns the position just past it. Reads no records.
 */
export function v2BatchEnd(buffer: Buffer, start: number): number {
  const available = buffer.length - start
  if (available < RECORDS_AT) {
    throw new DecodeError('DECODE_TRUNCATED', `record batch at byte ${start}: ${available} bytes, less than a ${RECORDS_AT}-byte header`)
  }
  const batchLength = buffer.readInt32BE(start + BATCH_LENGTH_AT)
  if (batchLength < 0) throw new DecodeError('DECODE_NEGATIVE_LENGTH', `record batch at byte ${start} has negative length ${batchLength}`)
  if (batchLength < MIN_BATCH_LENGTH) throw corruptRecords(`record batch at byte ${start} has length ${batchLength}, below the ${MIN_BATCH_LENGTH}-byte header`)
  const end = start + LOG_OVERHEAD + batchLength
  if (end > buffer.length) {
    throw new DecodeError('DECODE_TRUNCATED', `record batch at byte ${start} needs ${end - start} bytes, ${available} present`)
  }
  checkMagicV2(buffer, start)
  return end
}

export function checkMagicV2(buffer: Buffer, start: number): void {
  const magic = buffer.readInt8(start + MAGIC_AT)
  if (magic !== MAGIC_V2) {
    throw new DecodeError('DECODE_UNSUPPORTED_VERSION', `record batch at byte ${start} has magic ${magic}, expected ${MAGIC_V2}`)
  }
}

export function computeV2Crc(buffer: Buffer, start: number, end: number): number {
  return crc32c(buffer, start + ATTRIBUTES_AT, end)
}

export function verifyV2Crc(buffer: Buffer, start: number, end: number): void {
  const stored = buffer.readUInt32BE(start + CRC_AT)
  const computed = computeV2Crc(buffer, start, end)
  if (stored !== computed) {
    throw new DecodeError(
      'DECODE_CRC_MISMATCH',
      `record batch at byte ${start}: stored CRC-32C 0x${stored.toString(16)} but computed 0x${computed.toString(16)}`,
    )
  }
}

/** Reads every header field of the already-framed v2 batch at [start, end). */
export function readV2Header(buffer: Buffer, start: number, end: number): RecordBatchHeader {
  const attributes = buffer.readUInt16BE(start + ATTRIBUTES_AT)
  const baseOffset = buffer.readBigInt64BE(start + BASE_OFFSET_AT)
  const lastOffsetDelta = buffer.readInt32BE(start + LAST_OFFSET_DELTA_AT)
  const baseTimestamp = readInt64AsNumber(buffer, start + BASE_TIMESTAMP_AT)
  const recordCount = buffer.readInt32BE(start + RECORD_COUNT_AT)
  if (recordCount < 0) throw corruptRecords(`record batch at byte ${start} has negative record count ${recordCount}`)
  return {
    magic: MAGIC_V2,
    baseOffset,
    lastOffsetDelta,
    lastOffset: baseOffset + BigInt(lastOffsetDelta),
    partitionLeaderEpoch: buffer.readInt32BE(start + PARTITION_LEADER_EPOCH_AT),
    compression: compressionCodecFromId(attributes & ATTRIBUTE_COMPRESSION_MASK),
    timestampType: attributes & ATTRIBUTE_LOG_APPEND_TIME ? 'log-append-time' : 'create-time',
    isTransactional: (attributes & ATTRIBUTE_TRANSACTIONAL) !== 0,
    isControl: (attributes & ATTRIBUTE_CONTROL) !== 0,
    deleteHorizonMs: attributes & ATTRIBUTE_DELETE_HORIZON ? baseTimestamp : null,
    baseTimestamp,
    maxTimestamp: readInt64AsNumber(buffer, start + MAX_TIMESTAMP_AT),
    producerId: buffer.readBigInt64BE(start + PRODUCER_ID_AT),
    producerEpoch: buffer.readInt16BE(start + PRODUCER_EPOCH_AT),
    baseSequence: buffer.readInt32BE(start + BASE_SEQUENCE_AT),
    recordCount,
    sizeInBytes: end - start,
  }
}
