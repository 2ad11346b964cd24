/**
 * Byte layout of a magic v2 record batch header (KIP-98) and of the log entry framing shared
 * with legacy message sets. Positions are relative to the start of the batch.
 */
export const BASE_OFFSET_AT = 0
export const BATCH_LENGTH_AT = 8
export const PARTITION_LEADER_EPOCH_AT = 12
export const MAGIC_AT = 16
export const CRC_AT = 17
/** The CRC-32C covers everything from here to the end of the batch. */
export const ATTRIBUTES_AT = 21
export const LAST_OFFSET_DELTA_AT = 23
export const BASE_TIMESTAMP_AT = 27
export const MAX_TIMESTAMP_AT = 35
export const PRODUCER_ID_AT = 43
export const PRODUCER_EPOCH_AT = 51
export const BASE_SEQUENCE_AT = 53
export const RECORD_COUNT_AT = 57
export const RECORDS_AT = 61

/** Offset (int64) and length (int32) that frame every log entry, legacy or v2. */
export const LOG_OVERHEAD = 12
/** The smallest batchLength a v2 header fits in: everything after the length field, no records. */
export const MIN_BATCH_LENGTH = RECORDS_AT - LOG_OVERHEAD
/** The smallest legacy message (magic 0, null key and value): crc, magic, attributes, two lengths. */
export const MIN_LEGACY_MESSAGE_SIZE = 14

export const MAGIC_V0 = 0
export const MAGIC_V1 = 1
export const MAGIC_V2 = 2

export const ATTRIBUTE_COMPRESSION_MASK = 0x07
export const ATTRIBUTE_LOG_APPEND_TIME = 0x08
export const ATTRIBUTE_TRANSACTIONAL = 0x10
export const ATTRIBUTE_CONTROL = 0x20
/** KIP-534: baseTimestamp holds the delete horizon set by the log cleaner. */
export const ATTRIBUTE_DELETE_HORIZON = 0x40

export const NO_PRODUCER_ID = -1n
export const NO_PRODUCER_EPOCH = -1
export const NO_SEQUENCE = -1
export const NO_PARTITION_LEADER_EPOCH = -1
export const NO_TIMESTAMP = -1

/** An int64 field read as a number: exact within ±2^53, which holds every real timestamp. */
export function readInt64AsNumber(buffer: Buffer, at: number): number {
  return buffer.readInt32BE(at) * 0x1_0000_0000 + buffer.readUInt32BE(at + 4)
}
