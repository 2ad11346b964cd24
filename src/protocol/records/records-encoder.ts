import { EncodeError } from '../errors/base.js'
import type { Writer } from '../primitives/writer.js'
import type { RecordHeaderInput, RecordInput } from './types.js'

/**
 * Encoding of the records inside a v2 batch. Each record starts with its own length as a varint,
 * so sizes are measured in a first pass and written in a second; the batch's buffer is allocated
 * once at its exact size, and each key and value is copied once, into it (strings are encoded
 * straight into it).
 */

export interface RecordsLayout {
  readonly count: number
  /** Total bytes of all records, length prefixes included. */
  readonly byteLength: number
  readonly baseTimestamp: number
  readonly maxTimestamp: number
}

const INT32_MIN = -0x80000000
const INT32_MAX = 0x7fffffff

/** Bytes of a zig-zag varint for an int32. */
export function sizeOfVarint(value: number): number {
  const zigzag = ((value << 1) ^ (value >> 31)) >>> 0
  if (zigzag < 0x80) return 1
  if (zigzag < 0x4000) return 2
  if (zigzag < 0x200000) return 3
  if (zigzag < 0x10000000) return 4
  return 5
}

/** Bytes of a zig-zag varlong for a safe integer. */
export function sizeOfVarlongNumber(value: number): number {
  if (value >= INT32_MIN && value <= INT32_MAX) return sizeOfVarint(value)
  let zigzag = value >= 0 ? value * 2 : -value * 2 - 1
  let size = 1
  while (zigzag >= 0x80) {
    zigzag = Math.floor(zigzag / 0x80)
    size++
  }
  return size
}

/** Writes a safe integer as a big-endian int64 without going through bigint. */
export function writeInt64FromNumber(buffer: Buffer, at: number, value: number): void {
  const high = Math.floor(value / 0x1_0000_0000)
  buffer.writeInt32BE(high, at)
  buffer.writeUInt32BE(value - high * 0x1_0000_0000, at + 4)
}

/** Bytes of a key, value or header value, or -1 for null; strings count as UTF-8. */
function fieldLength(value: Uint8Array | string | null | undefined): number {
  if (value === null || value === undefined) return -1
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length
}

/** Bytes a field takes in a record: its varint length, then its bytes (null: the length -1 alone). */
function sizeOfField(length: number): number {
  return length < 0 ? 1 : sizeOfVarint(length) + length
}

function headerKey(header: RecordHeaderInput): string {
  if (typeof header.key !== 'string') throw new EncodeError('a record header key must be a string')
  return header.key
}

/** Bytes of a record's header count and headers. */
function sizeOfHeaders(headers: readonly RecordHeaderInput[] | undefined): number {
  if (headers === undefined) return 1
  let size = sizeOfVarint(headers.length)
  for (const header of headers) size += sizeOfField(Buffer.byteLength(headerKey(header), 'utf8')) + sizeOfField(fieldLength(header.value))
  return size
}

function checkTimestamp(timestamp: number, index: number): void {
  if (!Number.isSafeInteger(timestamp)) throw new EncodeError(`record ${index} has timestamp ${timestamp}, not an integer of milliseconds`)
}

/** A record's body size (after its own length prefix), from the lengths of its key and value. */
function bodySize(record: RecordInput, index: number, baseTimestamp: number, keyLength: number, valueLength: number): number {
  return (
    1 + // attributes
    sizeOfVarlongNumber(record.timestamp - baseTimestamp) +
    sizeOfVarint(index) +
    sizeOfField(keyLength) +
    sizeOfField(valueLength) +
    sizeOfHeaders(record.headers)
  )
}

/**
 * Measures records (and checks their timestamps), so that the batch's buffer is allocated once at
 * its exact size. The first record's timestamp is the base, as in Kafka. No per-record state is
 * kept: writing measures each record again, which costs less than remembering it.
 */
export function measureRecords(records: readonly RecordInput[]): RecordsLayout {
  const first = records[0]
  if (first === undefined) throw new EncodeError('a record batch needs at least one record')
  const baseTimestamp = first.timestamp
  let maxTimestamp = baseTimestamp
  let byteLength = 0
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    checkTimestamp(record.timestamp, i)
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp
    const size = bodySize(record, i, baseTimestamp, fieldLength(record.key), fieldLength(record.value))
    byteLength += sizeOfVarint(size) + size
  }
  return { count: records.length, byteLength, baseTimestamp, maxTimestamp }
}

/** Writes a field of known length (-1: null); a string is written as UTF-8 straight into the buffer, bytes are copied once. */
function writeField(writer: Writer, value: Uint8Array | string | null | undefined, length: number): void {
  writer.varint(length)
  if (length < 0 || value === null || value === undefined) return
  if (typeof value === 'string') writer.utf8(value, length)
  else writer.raw(value)
}

/** Writes the records measured by `measureRecords`; offset deltas are their indexes. */
export function writeRecords(writer: Writer, records: readonly RecordInput[], layout: RecordsLayout): void {
  for (let i = 0; i < layout.count; i++) {
    const record = records[i]!
    const keyLength = fieldLength(record.key)
    const valueLength = fieldLength(record.value)
    writer.varint(bodySize(record, i, layout.baseTimestamp, keyLength, valueLength))
    writer.int8(0) // record attributes: unused since KIP-98
    writer.varlongNumber(record.timestamp - layout.baseTimestamp)
    writer.varint(i)
    writeField(writer, record.key, keyLength)
    writeField(writer, record.value, valueLength)
    const headers = record.headers
    if (headers === undefined) {
      writer.varint(0)
    } else {
      writer.varint(headers.length)
      for (const header of headers) {
        const key = headerKey(header)
        writeField(writer, key, Buffer.byteLength(key, 'utf8'))
        writeField(writer, header.value, fieldLength(header.value))
      }
    }
  }
}
