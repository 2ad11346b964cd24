import { DecodeError, EncodeError } from '../errors/base.js'
import { computeV2Crc, readV2Header, v2BatchEnd } from './batch-header.js'
import {
  ATTRIBUTE_COMPRESSION_MASK,
  ATTRIBUTE_CONTROL,
  ATTRIBUTE_LOG_APPEND_TIME,
  ATTRIBUTE_TRANSACTIONAL,
  ATTRIBUTES_AT,
  BASE_OFFSET_AT,
  BASE_SEQUENCE_AT,
  CRC_AT,
  LAST_OFFSET_DELTA_AT,
  MAX_TIMESTAMP_AT,
  NO_SEQUENCE,
  PARTITION_LEADER_EPOCH_AT,
  PRODUCER_EPOCH_AT,
  PRODUCER_ID_AT,
  RECORD_COUNT_AT,
  readInt64AsNumber,
} from './batch-layout.js'
import { type CompressionCodec, compressionCodecFromId } from './compression.js'
import { corruptRecords } from './corrupt.js'
import { decodeV2BatchAt } from './record-batch-decoder.js'
import { forEachLogEntry } from './record-batches.js'
import { writeInt64FromNumber } from './records-encoder.js'
import type { DecodedRecordBatch, DecodeRecordBatchOptions, PartialBatch, RecordBatchHeader, TimestampType } from './types.js'

const INT32_MAX = 0x7fffffff

/**
 * A broker's handle on one magic v2 batch: header fields read straight from the bytes, the
 * records left undecoded, and in-place rewrites of the fields a leader assigns. `bytes` is a view
 * of the caller's buffer, so the setters change that buffer.
 */
export class RecordBatchView {
  private constructor(readonly bytes: Buffer) {}

  /**
   * Validates framing (lengths, magic 2) and, unless told not to, the CRC-32C of the batch at
   * `position`; it may be followed by other bytes. Throws `DecodeError` on any failure.
   */
  static at(buffer: Buffer, position = 0, options: { verifyCrc?: boolean } = {}): RecordBatchView {
    const end = v2BatchEnd(buffer, position)
    const view = new RecordBatchView(buffer.subarray(position, end))
    if (options.verifyCrc !== false && !view.isCrcValid()) {
      throw new DecodeError('DECODE_CRC_MISMATCH', `record batch at byte ${position}: stored CRC-32C 0x${view.crc.toString(16)} but computed 0x${view.computeCrc().toString(16)}`)
    }
    // Reject what cannot be decoded later: unknown codec ids and negative counts.
    compressionCodecFromId(view.attributes & ATTRIBUTE_COMPRESSION_MASK)
    if (view.recordCount < 0) throw corruptRecords(`record batch at byte ${position} has negative record count ${view.recordCount}`)
    return view
  }

  get sizeInBytes(): number {
    return this.bytes.length
  }
  get baseOffset(): bigint {
    return this.bytes.readBigInt64BE(BASE_OFFSET_AT)
  }
  get lastOffsetDelta(): number {
    return this.bytes.readInt32BE(LAST_OFFSET_DELTA_AT)
  }
  get lastOffset(): bigint {
    return this.baseOffset + BigInt(this.lastOffsetDelta)
  }
  get partitionLeaderEpoch(): number {
    return this.bytes.readInt32BE(PARTITION_LEADER_EPOCH_AT)
  }
  get crc(): number {
    return this.bytes.readUInt32BE(CRC_AT)
  }
  get attributes(): number {
    return this.bytes.readUInt16BE(ATTRIBUTES_AT)
  }
  get compression(): CompressionCodec {
    return compressionCodecFromId(this.attributes & ATTRIBUTE_COMPRESSION_MASK)
  }
  get timestampType(): TimestampType {
    return this.attributes & ATTRIBUTE_LOG_APPEND_TIME ? 'log-append-time' : 'create-time'
  }
  get isTransactional(): boolean {
    return (this.attributes & ATTRIBUTE_TRANSACTIONAL) !== 0
  }
  get isControl(): boolean {
    return (this.attributes & ATTRIBUTE_CONTROL) !== 0
  }
  get maxTimestamp(): number {
    return readInt64AsNumber(this.bytes, MAX_TIMESTAMP_AT)
  }
  get producerId(): bigint {
    return this.bytes.readBigInt64BE(PRODUCER_ID_AT)
  }
  get producerEpoch(): number {
    return this.bytes.readInt16BE(PRODUCER_EPOCH_AT)
  }
  get baseSequence(): number {
    return this.bytes.readInt32BE(BASE_SEQUENCE_AT)
  }
  /** The sequence of the last record; sequences wrap from INT32_MAX to 0 (as in Kafka). */
  get lastSequence(): number {
    const base = this.baseSequence
    if (base === NO_SEQUENCE) return NO_SEQUENCE
    const delta = this.lastOffsetDelta
    return base > INT32_MAX - delta ? delta - (INT32_MAX - base) - 1 : base + delta
  }
  get recordCount(): number {
    return this.bytes.readInt32BE(RECORD_COUNT_AT)
  }

  /** Every header field at once. */
  header(): RecordBatchHeader {
    return readV2Header(this.bytes, 0, this.bytes.length)
  }

  computeCrc(): number {
    return computeV2Crc(this.bytes, 0, this.bytes.length)
  }

  isCrcValid(): boolean {
    return this.crc === this.computeCrc()
  }

  /** Decodes the records (the CRC was checked when the view was made, unless skipped then). */
  decode(options: DecodeRecordBatchOptions = {}): DecodedRecordBatch {
    return decodeV2BatchAt(this.bytes, 0, this.bytes.length, { ...options, verifyCrc: options.verifyCrc ?? false })
  }

  /** Assigns the batch's offsets. baseOffset lies outside the CRC, so nothing else changes. */
  setBaseOffset(baseOffset: bigint): void {
    if (BigInt.asIntN(64, baseOffset) !== baseOffset) throw new EncodeError(`baseOffset ${baseOffset} is not an int64`)
    this.bytes.writeBigInt64BE(baseOffset, BASE_OFFSET_AT)
  }

  /** Stamps the leader epoch; outside the CRC by design (KIP-101), so no recomputation. */
  setPartitionLeaderEpoch(epoch: number): void {
    if ((epoch | 0) !== epoch) throw new EncodeError(`partitionLeaderEpoch ${epoch} is not an int32`)
    this.bytes.writeInt32BE(epoch, PARTITION_LEADER_EPOCH_AT)
  }

  /**
   * Sets the timestamp type and maxTimestamp, as a broker does for a LogAppendTime topic. Both are
   * inside the CRC, which is recomputed. The records' own timestamps stay: readers of a
   * LogAppendTime batch take maxTimestamp for every record.
   */
  setMaxTimestamp(timestampType: TimestampType, maxTimestamp: number): void {
    if (!Number.isSafeInteger(maxTimestamp)) throw new EncodeError(`maxTimestamp ${maxTimestamp} is not an integer of milliseconds`)
    const attributes = this.attributes
    const updated = timestampType === 'log-append-time' ? attributes | ATTRIBUTE_LOG_APPEND_TIME : attributes & ~ATTRIBUTE_LOG_APPEND_TIME
    if (updated === attributes && this.maxTimestamp === maxTimestamp) return
    this.bytes.writeUInt16BE(updated, ATTRIBUTES_AT)
    writeInt64FromNumber(this.bytes, MAX_TIMESTAMP_AT, maxTimestamp)
    this.bytes.writeUInt32BE(this.computeCrc(), CRC_AT)
  }

  setLogAppendTime(timestamp: number): void {
    this.setMaxTimestamp('log-append-time', timestamp)
  }
}

/**
 * Splits bytes holding v2 batches back to back (a produce request's records, a log segment) into
 * views, validating each. A cut-off last batch is returned in `partialBatch` for the caller to
 * reject or keep; legacy entries throw `DECODE_UNSUPPORTED_VERSION`.
 */
export function sliceRecordBatches(
  buffer: Buffer,
  options: { verifyCrc?: boolean } = {},
): { batches: RecordBatchView[]; partialBatch: PartialBatch | null } {
  const batches: RecordBatchView[] = []
  const { partialBatch } = forEachLogEntry(buffer, (_magic, start) => batches.push(RecordBatchView.at(buffer, start, options)))
  return { batches, partialBatch }
}
