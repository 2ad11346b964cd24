import { DecodeError } from '../errors/base.js'
import { Reader } from '../primitives/reader.js'
import { corruptRecords } from './corrupt.js'
import type { DecodedRecord, RecordHeader } from './types.js'

/**
 * Decoding of the records inside a v2 batch (the hot loop of every consumer).
 *
 * Keys, values and header values are `subarray` views of the batch (or of its decompressed
 * payload): no copy. Each record's absolute offset is one BigInt made from a number sum when the
 * base offset leaves room below 2^53; bigint addition instead made the whole decode about 20% slower.
 */

/** length, attributes, timestampDelta, offsetDelta, key length, value length, header count: 1 byte each at least. */
const MIN_RECORD_BYTES = 7
const MIN_RECORD_BODY_BYTES = MIN_RECORD_BYTES - 1
/** A header is at least a key length and a value length. */
const MIN_HEADER_BYTES = 2
const NO_HEADERS: readonly RecordHeader[] = Object.freeze([])
/** Largest base offset for which base + any int32 delta stays an exact number. */
const MAX_NUMBER_BASE_OFFSET = BigInt(Number.MAX_SAFE_INTEGER - 0x7fffffff)
const MIN_NUMBER_BASE_OFFSET = BigInt(Number.MIN_SAFE_INTEGER + 0x80000000)

/** Varint-length-prefixed nullable bytes that must end by `bodyEnd`, the end of their record. */
function varintBytes(reader: Reader, bodyEnd: number, what: string): Buffer | null {
  const length = reader.varint()
  if (length === -1) return null
  if (length < 0) throw new DecodeError('DECODE_NEGATIVE_LENGTH', `negative ${what} length ${length} at byte ${reader.offset}`)
  if (length > bodyEnd - reader.offset) throw corruptRecords(`${what} of ${length} bytes at byte ${reader.offset} runs past its record`)
  return reader.raw(length, what)
}

function decodeHeaders(reader: Reader, bodyEnd: number): readonly RecordHeader[] {
  const count = reader.varint()
  if (count === 0) return NO_HEADERS
  if (count < 0 || count * MIN_HEADER_BYTES > bodyEnd - reader.offset) {
    throw corruptRecords(`record claims ${count} headers with ${bodyEnd - reader.offset} bytes left at byte ${reader.offset}`)
  }
  const headers: RecordHeader[] = []
  for (let i = 0; i < count; i++) {
    const keyLength = reader.varint()
    const keyStart = reader.offset
    if (keyLength < 0 || keyLength > bodyEnd - keyStart) throw corruptRecords(`header key length ${keyLength} at byte ${keyStart} does not fit its record`)
    reader.offset = keyStart + keyLength
    const key = reader.buffer.toString('utf8', keyStart, keyStart + keyLength)
    headers.push({ key, value: varintBytes(reader, bodyEnd, 'header value') })
  }
  return headers
}

/**
 * Decodes `count` records from `data[start, end)`, which must hold exactly those records.
 * `logAppendTime` is the batch's maxTimestamp when its timestamp type is LogAppendTime, which
 * then replaces every record's own timestamp; null otherwise.
 */
export function decodeRecordBodies(
  data: Buffer,
  start: number,
  end: number,
  count: number,
  baseOffset: bigint,
  baseTimestamp: number,
  logAppendTime: number | null,
): DecodedRecord[] {
  if (count > (end - start) / MIN_RECORD_BYTES) {
    throw corruptRecords(`batch claims ${count} records but has only ${end - start} bytes of them`)
  }
  const numericBase = baseOffset <= MAX_NUMBER_BASE_OFFSET && baseOffset >= MIN_NUMBER_BASE_OFFSET ? Number(baseOffset) : null
  const reader = new Reader(data, start, end)
  const records: DecodedRecord[] = []
  for (let i = 0; i < count; i++) {
    if (reader.offset === end) throw corruptRecords(`batch claims ${count} records but holds ${i}`)
    const length = reader.varint()
    const bodyStart = reader.offset
    if (length < MIN_RECORD_BODY_BYTES || length > end - bodyStart) {
      throw corruptRecords(`record ${i} has invalid length ${length} at byte ${bodyStart} (${end - bodyStart} bytes left)`)
    }
    const bodyEnd = bodyStart + length
    reader.offset = bodyStart + 1 // record attributes: unused since KIP-98
    const timestampDelta = reader.varlongNumber()
    const offsetDelta = reader.varint()
    const key = varintBytes(reader, bodyEnd, 'key')
    const value = varintBytes(reader, bodyEnd, 'value')
    const headers = decodeHeaders(reader, bodyEnd)
    if (reader.offset !== bodyEnd) {
      throw corruptRecords(`record ${i} declares ${length} bytes but its fields take ${reader.offset - bodyStart}`)
    }
    records.push({
      offset: numericBase === null ? baseOffset + BigInt(offsetDelta) : BigInt(numericBase + offsetDelta),
      timestamp: logAppendTime ?? baseTimestamp + timestampDelta,
      key,
      value,
      headers,
    })
  }
  if (reader.offset !== end) throw corruptRecords(`${end - reader.offset} bytes left after the ${count} records the batch declares`)
  return records
}
