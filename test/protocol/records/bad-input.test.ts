import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { compress, decodeRecordBatch, decodeRecordBatches, encodeRecordBatch, type CompressionCodec } from '../../../src/protocol/records/index.js'
import { assertDecodeError, refreshCrc } from './helpers.js'

/** Two small records, no headers: record 0 starts at byte 61 (length varint, attributes, deltas, key, value...). */
function batch(compression: CompressionCodec = 'none'): Buffer {
  return encodeRecordBatch({
    records: [
      { key: 'k0', value: 'value-0', timestamp: 100 },
      { key: 'k1', value: 'value-1', timestamp: 101 },
    ],
    compression,
    baseOffset: 50n,
  })
}

/** The uncompressed records of `batch()`, re-packed into a batch with `payload` in their place. */
function withRecords(payload: Buffer, recordCount = 2, compression: CompressionCodec = 'none'): Buffer {
  const header = Buffer.from(batch().subarray(0, 61))
  const attributesWithoutCodec = header.readUInt16BE(21) & ~0x07
  header.writeUInt16BE(attributesWithoutCodec | ['none', 'gzip', 'snappy', 'lz4', 'zstd'].indexOf(compression), 21)
  header.writeInt32BE(recordCount, 57)
  const body = compression === 'none' ? payload : compress(compression, payload)
  const bytes = Buffer.concat([header, body])
  bytes.writeInt32BE(bytes.length - 12, 8)
  return refreshCrc(bytes)
}

const records = (): Buffer => Buffer.from(batch().subarray(61))

describe('truncated input', () => {
  it('decodeRecordBatch: DECODE_TRUNCATED for a batch cut anywhere', () => {
    const bytes = batch()
    for (const length of [0, 5, 12, 40, 60, 61, bytes.length - 1]) {
      assertDecodeError(() => decodeRecordBatch(bytes.subarray(0, length)), 'DECODE_TRUNCATED')
    }
  })

  it('decodeRecordBatches: a cut batch is reported, not thrown', () => {
    const bytes = batch()
    for (let length = 1; length < bytes.length; length++) {
      const decoded = decodeRecordBatches(bytes.subarray(0, length))
      assert.equal(decoded.batches.length, 0)
      assert.equal(decoded.partialBatch?.availableBytes, length)
    }
  })

  it('decodeRecordBatch: DECODE_TRAILING_BYTES when more than one batch is given', () => {
    assertDecodeError(() => decodeRecordBatch(Buffer.concat([batch(), batch()])), 'DECODE_TRAILING_BYTES')
  })
})

describe('lengths', () => {
  it('negative batch length: DECODE_NEGATIVE_LENGTH', () => {
    const bytes = batch()
    bytes.writeInt32BE(-5, 8)
    assertDecodeError(() => decodeRecordBatch(bytes), 'DECODE_NEGATIVE_LENGTH')
    assertDecodeError(() => decodeRecordBatches(bytes), 'DECODE_NEGATIVE_LENGTH')
  })

  it('batch length shorter than a header: DECODE_CORRUPT_RECORDS', () => {
    const bytes = batch()
    bytes.writeInt32BE(30, 8)
    assertDecodeError(() => decodeRecordBatch(bytes), 'DECODE_CORRUPT_RECORDS')
    assertDecodeError(() => decodeRecordBatches(bytes), 'DECODE_CORRUPT_RECORDS')
  })

  it('negative key length below -1: DECODE_NEGATIVE_LENGTH', () => {
    const payload = records()
    payload[4] = 0x03 // record 0: [length, attributes, timestampDelta, offsetDelta, key length]; zig-zag 3 is -2
    assertDecodeError(() => decodeRecordBatch(withRecords(payload)), 'DECODE_NEGATIVE_LENGTH')
  })

  it('a record length that overruns the batch or undercuts its fields: DECODE_CORRUPT_RECORDS', () => {
    const longer = records()
    longer[0] = 0x7e // 63, far past the records present
    assertDecodeError(() => decodeRecordBatch(withRecords(longer)), 'DECODE_CORRUPT_RECORDS')
    const shorter = records()
    shorter[0] = shorter[0]! - 2 // one byte shorter (zig-zag)
    assertDecodeError(() => decodeRecordBatch(withRecords(shorter)), 'DECODE_CORRUPT_RECORDS')
  })

  it('a key length that runs past its record: DECODE_CORRUPT_RECORDS', () => {
    const payload = records()
    payload[4] = 0x20 // key length 16 in a record far shorter
    assertDecodeError(() => decodeRecordBatch(withRecords(payload)), 'DECODE_CORRUPT_RECORDS')
  })

  it('a header count that lies: DECODE_CORRUPT_RECORDS', () => {
    const payload = records()
    const firstLength = payload[0]! >> 1
    payload[firstLength] = 0x0a // record 0's header count (its last byte) set to 5
    assertDecodeError(() => decodeRecordBatch(withRecords(payload)), 'DECODE_CORRUPT_RECORDS')
    payload[firstLength] = 0x01 // -1
    assertDecodeError(() => decodeRecordBatch(withRecords(payload)), 'DECODE_CORRUPT_RECORDS')
  })
})

describe('record counts that lie', () => {
  for (const compression of ['none', 'gzip', 'zstd'] satisfies CompressionCodec[]) {
    it(`${compression}: more records claimed than present, fewer claimed than present, negative`, () => {
      assertDecodeError(() => decodeRecordBatch(withRecords(records(), 3, compression)), 'DECODE_CORRUPT_RECORDS')
      assertDecodeError(() => decodeRecordBatch(withRecords(records(), 1, compression)), 'DECODE_CORRUPT_RECORDS')
      assertDecodeError(() => decodeRecordBatch(withRecords(records(), -1, compression)), 'DECODE_CORRUPT_RECORDS')
      assertDecodeError(() => decodeRecordBatch(withRecords(records(), 2 ** 31 - 1, compression)), 'DECODE_CORRUPT_RECORDS')
    })
  }

  it('zero records claimed with records present (uncompressed): DECODE_CORRUPT_RECORDS', () => {
    assertDecodeError(() => decodeRecordBatch(withRecords(records(), 0)), 'DECODE_CORRUPT_RECORDS')
  })

  it('an empty batch (all records compacted away) decodes to no records', () => {
    const empty = withRecords(Buffer.alloc(0), 0)
    assert.deepEqual(decodeRecordBatch(empty).records, [])
    assert.deepEqual(decodeRecordBatch(withRecords(Buffer.alloc(0), 0, 'gzip')).records, [])
  })
})

describe('checksums, codecs and magic', () => {
  it('wrong CRC: DECODE_CRC_MISMATCH, unless verification is off', () => {
    const bytes = batch()
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0x01
    assertDecodeError(() => decodeRecordBatch(bytes), 'DECODE_CRC_MISMATCH')
    assertDecodeError(() => decodeRecordBatches(bytes), 'DECODE_CRC_MISMATCH')
    assert.equal(decodeRecordBatch(bytes, { verifyCrc: false }).records.length, 2)
    const crcOnly = batch()
    crcOnly.writeUInt32BE((crcOnly.readUInt32BE(17) ^ 0x100) >>> 0, 17)
    assertDecodeError(() => decodeRecordBatch(crcOnly), 'DECODE_CRC_MISMATCH')
  })

  for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] satisfies CompressionCodec[]) {
    it(`corrupt ${compression} payload with a valid CRC: DECODE_COMPRESSION`, () => {
      const bytes = batch(compression)
      const garbage = Buffer.alloc(bytes.length - 61, 0xa5)
      garbage.copy(bytes, 61)
      assertDecodeError(() => decodeRecordBatch(refreshCrc(bytes)), 'DECODE_COMPRESSION')
    })
  }

  it('unknown compression ids 5, 6, 7: DECODE_COMPRESSION', () => {
    for (const id of [5, 6, 7]) {
      const bytes = batch()
      bytes.writeUInt16BE((bytes.readUInt16BE(21) & ~0x07) | id, 21)
      assertDecodeError(() => decodeRecordBatch(refreshCrc(bytes)), 'DECODE_COMPRESSION')
    }
  })

  it('decompressed size over the limit: DECODE_COMPRESSION', () => {
    const big = encodeRecordBatch({ records: [{ value: Buffer.alloc(100_000), timestamp: 0 }], compression: 'zstd' })
    assertDecodeError(() => decodeRecordBatch(big, { maxDecompressedBytes: 50_000 }), 'DECODE_COMPRESSION')
    assert.equal(decodeRecordBatch(big, { maxDecompressedBytes: 200_000 }).records.length, 1)
  })

  it('unknown magic: DECODE_UNSUPPORTED_VERSION', () => {
    for (const magic of [3, 127, -1]) {
      const bytes = batch()
      bytes.writeInt8(magic, 16)
      assertDecodeError(() => decodeRecordBatch(bytes), 'DECODE_UNSUPPORTED_VERSION')
      assertDecodeError(() => decodeRecordBatches(bytes), 'DECODE_UNSUPPORTED_VERSION')
    }
  })

  it('a varint that never ends: DECODE_CORRUPT_RECORDS or DECODE_VARINT_TOO_LONG, never a hang', () => {
    const payload = records()
    payload.fill(0xff, 1, 12)
    assert.throws(
      () => decodeRecordBatch(withRecords(payload)),
      (error: unknown) => error instanceof Error && 'code' in error && (error.code === 'DECODE_VARINT_TOO_LONG' || error.code === 'DECODE_CORRUPT_RECORDS'),
    )
  })
})
