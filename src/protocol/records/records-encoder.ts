import { EncodeError } from '../errors/base.js'
import type { Writer } from '../primitives/writer.js'
import type { RecordHeaderInput, RecordInput } from './types.js'

/**
 * Encoding of the records inside a v2 batch. Each record starts with its own length as a varint,
 * so sizes are measured in a first pass (which also turns strings into bytes once) and written in
 * a second; the batch's buffer is then allocated once at its exact size.
 */

interface PreparedHeader {
  readonly key: Buffer
  readonly value: Uint8Array | null
}

export interface PreparedRecords {
  readonly count: number
  /** Total bytes of all records, length prefixes included. */
  readonly byteLength: number
  readonly baseTimestamp: number
  readonly maxTimestamp: number
  readonly bodySizes: number[]
  readonly keys: (Uint8Array | null)[]
  readonly values: (Uint8Array | null)[]
  readonly headers: (PreparedHeader[] | null)[]
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

function toBytes(value: Uint8Array | string | null | undefined): Uint8Array | null {
  if (value === null || value === undefined) return null
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value
}

function sizeOfNullableBytes(bytes: Uint8Array | null): number {
  return bytes === null ? 1 : sizeOfVarint(bytes.length) + bytes.length
}

function prepareHeaders(headers: readonly RecordHeaderInput[] | undefined): PreparedHeader[] | null {
  if (headers === undefined || headers.length === 0) return null
  return headers.map((header) => {
    if (typeof header.key !== 'string') throw new EncodeError('a record header key must be a string')
    return { key: Buffer.from(header.key, 'utf8'), value: toBytes(header.value) }
  })
}

function checkTimestamp(timestamp: number, index: number): void {
  if (!Number.isSafeInteger(timestamp)) throw new EncodeError(`record ${index} has timestamp ${timestamp}, not an integer of milliseconds`)
}

/** Measures records and converts their strings to bytes. The first record's timestamp is the base, as in Kafka. */
export function prepareRecords(records: readonly RecordInput[]): PreparedRecords {
  const first = records[0]
  if (first === undefined) throw new EncodeError('a record batch needs at least one record')
  const baseTimestamp = first.timestamp
  let maxTimestamp = baseTimestamp
  let byteLength = 0
  const bodySizes: number[] = []
  const keys: (Uint8Array | null)[] = []
  const values: (Uint8Array | null)[] = []
  const headers: (PreparedHeader[] | null)[] = []
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    checkTimestamp(record.timestamp, i)
    if (record.timestamp > maxTimestamp) maxTimestamp = record.timestamp
    const key = toBytes(record.key)
    const value = toBytes(record.value)
    const recordHeaders = prepareHeaders(record.headers)
    let headerBytes = sizeOfVarint(recordHeaders === null ? 0 : recordHeaders.length)
    if (recordHeaders !== null) {
      for (const header of recordHeaders) headerBytes += sizeOfVarint(header.key.length) + header.key.length + sizeOfNullableBytes(header.value)
    }
    const bodySize =
      1 + // attributes
      sizeOfVarlongNumber(record.timestamp - baseTimestamp) +
      sizeOfVarint(i) +
      sizeOfNullableBytes(key) +
      sizeOfNullableBytes(value) +
      headerBytes
    byteLength += sizeOfVarint(bodySize) + bodySize
    bodySizes.push(bodySize)
    keys.push(key)
    values.push(value)
    headers.push(recordHeaders)
  }
  return { count: records.length, byteLength, baseTimestamp, maxTimestamp, bodySizes, keys, values, headers }
}

function writeNullableBytes(writer: Writer, bytes: Uint8Array | null): void {
  if (bytes === null) {
    writer.varint(-1)
  } else {
    writer.varint(bytes.length)
    writer.raw(bytes)
  }
}

/** Writes the prepared records; offset deltas are their indexes. */
export function writeRecords(writer: Writer, records: readonly RecordInput[], prepared: PreparedRecords): void {
  for (let i = 0; i < prepared.count; i++) {
    writer.varint(prepared.bodySizes[i]!)
    writer.int8(0) // record attributes: unused since KIP-98
    writer.varlongNumber(records[i]!.timestamp - prepared.baseTimestamp)
    writer.varint(i)
    writeNullableBytes(writer, prepared.keys[i] ?? null)
    writeNullableBytes(writer, prepared.values[i] ?? null)
    const headers = prepared.headers[i] ?? null
    if (headers === null) {
      writer.varint(0)
    } else {
      writer.varint(headers.length)
      for (const header of headers) {
        writeNullableBytes(writer, header.key)
        writeNullableBytes(writer, header.value)
      }
    }
  }
}
