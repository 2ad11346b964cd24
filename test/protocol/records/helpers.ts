import assert from 'node:assert/strict'
import fc from 'fast-check'
import { DecodeError, type DecodeErrorCode } from '../../../src/protocol/errors/base.js'
import { crc32c } from '../../../src/protocol/records/crc32c.js'
import type {
  CompressionCodec,
  DecodedRecord,
  DecodedRecordBatch,
  RecordBatchInput,
  RecordHeaderInput,
  RecordInput,
} from '../../../src/protocol/records/index.js'

/** Fixed seed so every run checks the same cases; set FC_SEED to explore others. */
const SEED = process.env.FC_SEED === undefined ? 20261125 : Number(process.env.FC_SEED)

export function propertyOptions(numRuns: number): fc.Parameters<unknown> {
  return { seed: SEED, numRuns }
}

export const ALL_CODECS: readonly CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

/** Asserts that `run` throws a DecodeError with `code` (branching on the code, never on the message). */
export function assertDecodeError(run: () => unknown, code: DecodeErrorCode): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof DecodeError, `expected a DecodeError, got ${String(error)}`)
    assert.equal(error.code, code, `expected ${code}, got ${error.code}: ${error.message}`)
    return true
  })
}

/** Re-computes the CRC-32C of a v2 batch held at the start of `batch`, after a test edits its bytes. */
export function refreshCrc(batch: Buffer): Buffer {
  batch.writeUInt32BE(crc32c(batch, 21, batch.length), 17)
  return batch
}

export function bytesOf(value: Uint8Array | string | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value)
}

const bytesArbitrary = fc.oneof(
  fc.constant(null),
  fc.uint8Array({ maxLength: 64 }),
  fc.string({ maxLength: 16, unit: 'grapheme' }),
)

export const headerArbitrary: fc.Arbitrary<RecordHeaderInput> = fc.record({
  key: fc.string({ maxLength: 12, unit: 'grapheme' }),
  value: bytesArbitrary,
})

/** Records whose timestamps lie around `base`: deltas of both signs and past the int32 range. */
export function recordsArbitrary(maxLength = 12): fc.Arbitrary<RecordInput[]> {
  return fc
    .tuple(
      fc.integer({ min: 0, max: 2 ** 45 }),
      fc.array(
        fc.record({
          key: bytesArbitrary,
          value: bytesArbitrary,
          headers: fc.array(headerArbitrary, { maxLength: 3 }),
          delta: fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -(2 ** 40), max: 2 ** 40 })),
        }),
        { minLength: 1, maxLength },
      ),
    )
    .map(([base, drafts]) => drafts.map(({ delta, ...record }) => ({ ...record, timestamp: base + delta })))
}

export const batchInputArbitrary: fc.Arbitrary<RecordBatchInput> = fc.record({
  records: recordsArbitrary(),
  baseOffset: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 40n }), fc.bigInt({ min: 2n ** 53n, max: 2n ** 63n - 2n ** 31n })),
  partitionLeaderEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  compression: fc.constantFrom(...ALL_CODECS),
  producerId: fc.bigInt({ min: -1n, max: 2n ** 63n - 1n }),
  producerEpoch: fc.integer({ min: -1, max: 32767 }),
  baseSequence: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  transactional: fc.boolean(),
})

/** What decoding `input`'s records must give, record by record. */
export function expectedRecords(input: RecordBatchInput): DecodedRecord[] {
  const baseOffset = input.baseOffset ?? 0n
  return input.records.map((record, index) => ({
    offset: baseOffset + BigInt(index),
    timestamp: record.timestamp,
    key: bytesOf(record.key),
    value: bytesOf(record.value),
    headers: (record.headers ?? []).map((header) => ({ key: header.key, value: bytesOf(header.value) })),
  }))
}

/** Decoded records as plain data (views become plain Buffers) for deepEqual. */
export function plainRecords(records: readonly DecodedRecord[]): DecodedRecord[] {
  return records.map((record) => ({
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value === null ? null : Buffer.from(record.value),
    headers: record.headers.map((header) => ({ key: header.key, value: header.value === null ? null : Buffer.from(header.value) })),
  }))
}

/** The records of a data batch (asserting it is one). */
export function dataRecordsOf(batch: DecodedRecordBatch | undefined): DecodedRecord[] {
  assert.ok(batch !== undefined, 'no batch')
  assert.ok(!batch.isControl, 'expected a data batch, got a control batch')
  return batch.records
}
