import { DecodeError } from '../errors/base.js'
import { Reader } from '../primitives/reader.js'
import {
  ATTRIBUTE_COMPRESSION_MASK,
  ATTRIBUTE_LOG_APPEND_TIME,
  LOG_OVERHEAD,
  MAGIC_AT,
  MAGIC_V1,
  MIN_LEGACY_MESSAGE_SIZE,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
  NO_TIMESTAMP,
} from './batch-layout.js'
import { type CompressionCodec, compressionCodecFromId, DEFAULT_MAX_DECOMPRESSED_BYTES, decompress } from './compression.js'
import { corruptRecords, withinCompleteFrame } from './corrupt.js'
import { crc32 } from './crc32.js'
import type { DataRecordBatch, DecodedRecord, DecodeRecordBatchOptions, TimestampType } from './types.js'

/**
 * Legacy message sets (magic 0 and 1), which brokers still return for data written before
 * Kafka 0.11 or under an old message.format.version.
 *
 * Each log entry is one message: either a plain record, or a "wrapper" whose value is a whole
 * compressed message set. Like Kafka's consumer, each entry becomes one batch. Inner offsets of
 * magic 0 wrappers are absolute; those of magic 1 wrappers are relative (KIP-31), the wrapper
 * carrying the absolute offset of the last inner message. Under LogAppendTime the wrapper's
 * timestamp applies to every inner message (KIP-32).
 */

const CRC_AT = LOG_OVERHEAD
const ATTRIBUTES_AT = MAGIC_AT + 1
const BODY_AT = ATTRIBUTES_AT + 1

interface LegacyMessage {
  readonly offset: bigint
  readonly magic: number
  readonly compression: CompressionCodec
  readonly timestampType: TimestampType
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
}

/** Parses the framed entry at [start, end) of `buffer`: offset, size, then one message. */
function readMessage(buffer: Buffer, start: number, end: number, verifyCrc: boolean): LegacyMessage {
  if (end - start < LOG_OVERHEAD + MIN_LEGACY_MESSAGE_SIZE) throw corruptRecords(`legacy message at byte ${start} is too short`)
  const magic = buffer.readInt8(start + MAGIC_AT)
  if (magic !== 0 && magic !== 1) {
    throw new DecodeError('DECODE_UNSUPPORTED_VERSION', `message at byte ${start} has magic ${magic} inside a legacy message set`)
  }
  if (verifyCrc) {
    const stored = buffer.readUInt32BE(start + CRC_AT)
    const computed = crc32(buffer, start + MAGIC_AT, end)
    if (stored !== computed) {
      throw new DecodeError('DECODE_CRC_MISMATCH', `legacy message at byte ${start}: stored CRC-32 0x${stored.toString(16)} but computed 0x${computed.toString(16)}`)
    }
  }
  const attributes = buffer.readInt8(start + ATTRIBUTES_AT)
  const reader = new Reader(buffer, start + BODY_AT, end)
  const timestamp = magic === MAGIC_V1 ? Number(reader.int64()) : NO_TIMESTAMP
  const key = reader.nullableBytes()
  const value = reader.nullableBytes()
  reader.expectEnd('legacy message')
  return {
    offset: buffer.readBigInt64BE(start),
    magic,
    compression: compressionCodecFromId(attributes & ATTRIBUTE_COMPRESSION_MASK),
    timestampType: magic === MAGIC_V1 && attributes & ATTRIBUTE_LOG_APPEND_TIME ? 'log-append-time' : 'create-time',
    timestamp,
    key,
    value,
  }
}

function legacyBatch(
  start: number,
  end: number,
  wrapper: LegacyMessage,
  records: DecodedRecord[],
): DataRecordBatch {
  const first = records[0]
  const last = records[records.length - 1]
  if (first === undefined || last === undefined) throw corruptRecords(`compressed legacy message at byte ${start} holds no messages`)
  return {
    magic: wrapper.magic,
    baseOffset: first.offset,
    lastOffsetDelta: Number(last.offset - first.offset),
    lastOffset: last.offset,
    partitionLeaderEpoch: NO_PARTITION_LEADER_EPOCH,
    compression: wrapper.compression,
    timestampType: wrapper.timestampType,
    isTransactional: false,
    isControl: false,
    deleteHorizonMs: null,
    baseTimestamp: first.timestamp,
    maxTimestamp: wrapper.timestamp,
    producerId: NO_PRODUCER_ID,
    producerEpoch: NO_PRODUCER_EPOCH,
    baseSequence: NO_SEQUENCE,
    recordCount: records.length,
    sizeInBytes: end - start,
    records,
  }
}

const NO_HEADERS = Object.freeze([])

function innerRecords(wrapper: LegacyMessage, inner: Buffer, verifyCrc: boolean): DecodedRecord[] {
  const messages: LegacyMessage[] = []
  let position = 0
  while (position < inner.length) {
    if (inner.length - position < LOG_OVERHEAD) throw corruptRecords(`truncated inner message at byte ${position} of a compressed message set`)
    const size = inner.readInt32BE(position + 8)
    const end = position + LOG_OVERHEAD + size
    if (size < MIN_LEGACY_MESSAGE_SIZE || end > inner.length) {
      throw corruptRecords(`inner message at byte ${position} has size ${size} with ${inner.length - position - LOG_OVERHEAD} bytes left`)
    }
    const message = readMessage(inner, position, end, verifyCrc)
    if (message.compression !== 'none') throw corruptRecords(`compressed legacy message nests another compressed message`)
    if (message.magic !== wrapper.magic) throw corruptRecords(`inner message magic ${message.magic} differs from its wrapper's ${wrapper.magic}`)
    messages.push(message)
    position = end
  }
  const lastInner = messages[messages.length - 1]
  // Magic 1: inner offsets are relative and the wrapper holds the last one's absolute offset.
  const relativeBase = wrapper.magic === MAGIC_V1 && lastInner !== undefined ? wrapper.offset - lastInner.offset : null
  const logAppendTime = wrapper.timestampType === 'log-append-time' ? wrapper.timestamp : null
  return messages.map((message) => ({
    offset: relativeBase === null ? message.offset : relativeBase + message.offset,
    timestamp: logAppendTime ?? message.timestamp,
    key: message.key,
    value: message.value,
    headers: NO_HEADERS,
  }))
}

/** Decodes the legacy entry at [start, end) of `buffer` (already framed) into one batch. */
export function decodeLegacyEntryAt(buffer: Buffer, start: number, end: number, options: DecodeRecordBatchOptions = {}): DataRecordBatch {
  const verifyCrc = options.verifyCrc !== false
  return withinCompleteFrame(`legacy message at byte ${start}`, () => {
    const message = readMessage(buffer, start, end, verifyCrc)
    if (message.compression === 'none') {
      const record: DecodedRecord = { offset: message.offset, timestamp: message.timestamp, key: message.key, value: message.value, headers: NO_HEADERS }
      return legacyBatch(start, end, message, [record])
    }
    if (message.value === null) throw corruptRecords(`compressed legacy message at byte ${start} has a null value`)
    const inner = decompress(message.compression, message.value, options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES)
    return legacyBatch(start, end, message, innerRecords(message, inner, verifyCrc))
  })
}
