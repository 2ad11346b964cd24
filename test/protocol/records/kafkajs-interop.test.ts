import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { gunzipSync } from 'node:zlib'
import fc from 'fast-check'
import {
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  type DecodedRecordBatch,
  type RecordInput,
} from '../../../src/protocol/records/index.js'
import {
  FIXTURE_BATCH,
  FIXTURE_FILES,
  FIXTURE_RECORDS,
  kafkaJsFixtureBatch,
  LEGACY_WRAPPER_OFFSET,
} from '../../fixtures/records/kafkajs-fixtures.js'
import { dataRecordsOf, propertyOptions } from './helpers.js'
import { KAFKAJS_CODEC, kafkaJsDecodeRecordBatch, kafkaJsRecord, kafkaJsRecordBatch } from './kafkajs-reference.js'

const fixture = (name: string): Buffer => readFileSync(new URL(`../../fixtures/records/${name}`, import.meta.url))

const text = (value: Buffer | null): string | null => (value === null ? null : value.toString('utf8'))

/** The fixture records as baton's encoder takes them. */
const batonInputRecords: RecordInput[] = FIXTURE_RECORDS.map((record) => ({
  key: record.key,
  value: record.value,
  headers: Object.entries(record.headers).map(([key, value]) => ({ key, value })),
  timestamp: record.timestamp,
}))

function assertFixtureContent(batch: DecodedRecordBatch | undefined, withHeaders: boolean, firstOffset: bigint): void {
  const records = dataRecordsOf(batch)
  assert.deepEqual(
    records.map((record) => ({
      offset: record.offset,
      timestamp: record.timestamp,
      key: text(record.key),
      value: text(record.value),
      headers: Object.fromEntries(record.headers.map((header) => [header.key, text(header.value)])),
    })),
    FIXTURE_RECORDS.map((record, index) => ({
      offset: firstOffset + BigInt(index),
      timestamp: record.timestamp,
      key: record.key,
      value: record.value,
      headers: withHeaders ? record.headers : {},
    })),
  )
}

describe('decoding record batches KafkaJS wrote (committed fixtures)', () => {
  for (const [file, codec] of [[FIXTURE_FILES.uncompressed, 'none'], [FIXTURE_FILES.gzip, 'gzip']] as const) {
    it(`decodes ${file}: header fields and every record`, () => {
      const batch = decodeRecordBatch(fixture(file))
      assert.equal(batch.compression, codec)
      assert.equal(batch.baseOffset, FIXTURE_BATCH.baseOffset)
      assert.equal(batch.partitionLeaderEpoch, FIXTURE_BATCH.partitionLeaderEpoch)
      assert.equal(batch.producerId, FIXTURE_BATCH.producerId)
      assert.equal(batch.producerEpoch, FIXTURE_BATCH.producerEpoch)
      assert.equal(batch.baseSequence, FIXTURE_BATCH.baseSequence)
      assert.equal(batch.isTransactional, true)
      assert.equal(batch.lastOffsetDelta, FIXTURE_RECORDS.length - 1)
      assert.equal(batch.maxTimestamp, Math.max(...FIXTURE_RECORDS.map((record) => record.timestamp)))
      assertFixtureContent(batch, true, FIXTURE_BATCH.baseOffset)
    })
  }

  it(`decodes ${FIXTURE_FILES.legacyGzip}: a magic 1 gzip wrapper with relative inner offsets`, () => {
    const { batches } = decodeRecordBatches(fixture(FIXTURE_FILES.legacyGzip))
    assert.equal(batches.length, 1)
    assert.equal(batches[0]?.magic, 1)
    assert.equal(batches[0]?.lastOffset, LEGACY_WRAPPER_OFFSET)
    assertFixtureContent(batches[0], false, LEGACY_WRAPPER_OFFSET - BigInt(FIXTURE_RECORDS.length - 1))
  })

  it('keeps the uncompressed fixture identical to what the generator makes now', async () => {
    assert.deepEqual(fixture(FIXTURE_FILES.uncompressed), await kafkaJsFixtureBatch('none'))
  })
})

describe("baton's encoding against KafkaJS's, field for field", () => {
  const batonFixture = (compression: 'none' | 'gzip'): Buffer => encodeRecordBatch({ ...FIXTURE_BATCH, records: batonInputRecords, compression })

  it('writes the very same bytes for an uncompressed batch', () => {
    assert.deepEqual(batonFixture('none'), fixture(FIXTURE_FILES.uncompressed))
  })

  it('writes the same header and the same records inside gzip (the compressed bytes may differ)', () => {
    const ours = batonFixture('gzip')
    const theirs = fixture(FIXTURE_FILES.gzip)
    // baseOffset through producer fields and record count, skipping batchLength (8-11) and CRC (17-20).
    assert.deepEqual(ours.subarray(0, 8), theirs.subarray(0, 8))
    assert.deepEqual(ours.subarray(12, 17), theirs.subarray(12, 17))
    assert.deepEqual(ours.subarray(21, 61), theirs.subarray(21, 61))
    assert.deepEqual(gunzipSync(ours.subarray(61)), gunzipSync(theirs.subarray(61)))
    assert.deepEqual(gunzipSync(ours.subarray(61)), batonFixture('none').subarray(61))
  })

  it('is read back by KafkaJS, uncompressed and gzip', async () => {
    for (const compression of ['none', 'gzip'] as const) {
      const records = await kafkaJsDecodeRecordBatch(batonFixture(compression))
      assert.deepEqual(
        records.map((record) => [record.offset, record.timestamp, text(record.key), text(record.value)]),
        FIXTURE_RECORDS.map((record, i) => [String(FIXTURE_BATCH.baseOffset + BigInt(i)), String(record.timestamp), record.key, record.value]),
      )
    }
  })

  it('matches KafkaJS byte for byte on arbitrary uncompressed records', async () => {
    const recordArbitrary = fc.record({
      key: fc.option(fc.string({ maxLength: 20, unit: 'grapheme' }), { nil: null }),
      value: fc.option(fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)), { nil: null }),
      headers: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
      timestamp: fc.integer({ min: 1_600_000_000_000, max: 1_800_000_000_000 }),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(recordArbitrary, { minLength: 1, maxLength: 10 }), fc.bigInt({ min: 0n, max: 2n ** 62n }), async (records, baseOffset) => {
        const first = records[0]!
        const theirs = await kafkaJsRecordBatch({
          compression: KAFKAJS_CODEC.none,
          records: records.map((record, index) => kafkaJsRecord({ offsetDelta: index, timestampDelta: record.timestamp - first.timestamp, ...record })),
          firstOffset: baseOffset,
          firstTimestamp: first.timestamp,
          maxTimestamp: Math.max(...records.map((record) => record.timestamp)),
          lastOffsetDelta: records.length - 1,
        })
        const ours = encodeRecordBatch({
          records: records.map((record) => ({ ...record, headers: Object.entries(record.headers).map(([key, value]) => ({ key, value })) })),
          baseOffset,
          // KafkaJS's defaults for a non-idempotent producer.
          partitionLeaderEpoch: 0,
          producerEpoch: 0,
          baseSequence: 0,
        })
        assert.deepEqual(ours, theirs)
      }),
      propertyOptions(100),
    )
  })
})
