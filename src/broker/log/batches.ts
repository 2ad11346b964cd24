/**
 * The broker's view of record batches: framing, CRC, header fields, and the two in-place rewrites a
 * leader makes on append (offsets and, for LogAppendTime topics, the timestamp). Every use of the
 * records layer goes through this file.
 *
 * The rewrites follow Kafka's leader: the producer's bytes are stored as they came (compression kept
 * as produced), only header fields change. baseOffset and partitionLeaderEpoch lie before the
 * attributes, outside what the CRC-32C covers, so assigning offsets needs no new CRC; a timestamp
 * change does.
 */
import {
  ATTRIBUTE_LOG_APPEND_TIME,
  ATTRIBUTES_AT,
  BASE_OFFSET_AT,
  CRC_AT,
  MAX_TIMESTAMP_AT,
  PARTITION_LEADER_EPOCH_AT,
} from '../../protocol/records/batch-layout.js'
import { computeV2Crc, readV2Header, v2BatchEnd, verifyV2Crc } from '../../protocol/records/batch-header.js'
import { decodeV2BatchAt } from '../../protocol/records/record-batch-decoder.js'
import type { RecordBatchHeader } from '../../protocol/records/types.js'

export type { RecordBatchHeader }

/**
 * Checks framing, magic 2 and CRC of the batch at `start` and returns its header and end. Throws the
 * records layer's DecodeError (codes DECODE_TRUNCATED, DECODE_CRC_MISMATCH, ...) otherwise.
 */
export function readVerifiedBatch(buffer: Buffer, start: number): { header: RecordBatchHeader; end: number } {
  const end = v2BatchEnd(buffer, start)
  verifyV2Crc(buffer, start, end)
  return { header: readV2Header(buffer, start, end), end }
}

/** Writes the offsets the leader assigned and its leader epoch into the batch, in place. */
export function assignOffsets(batch: Buffer, baseOffset: number, leaderEpoch: number): void {
  batch.writeBigInt64BE(BigInt(baseOffset), BASE_OFFSET_AT)
  batch.writeInt32BE(leaderEpoch, PARTITION_LEADER_EPOCH_AT)
}

/** Marks the batch as LogAppendTime with the broker's clock as its max timestamp, and re-computes the CRC. */
export function setLogAppendTime(batch: Buffer, now: number): void {
  batch.writeUInt16BE(batch.readUInt16BE(ATTRIBUTES_AT) | ATTRIBUTE_LOG_APPEND_TIME, ATTRIBUTES_AT)
  batch.writeBigInt64BE(BigInt(now), MAX_TIMESTAMP_AT)
  batch.writeUInt32BE(computeV2Crc(batch, 0, batch.length), CRC_AT)
}

/** Offsets and timestamps of the records of one stored batch, for ListOffsets by timestamp. */
export function recordTimestamps(batch: Buffer): { offset: number; timestamp: number }[] {
  const decoded = decodeV2BatchAt(batch, 0, batch.length, { verifyCrc: false })
  return decoded.records.map((record) => ({ offset: Number(record.offset), timestamp: record.timestamp }))
}
