import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { EncodeError } from '../../../src/protocol/errors/base.js'
import {
  decodeRecordBatch,
  decodeRecordBatches,
  encodeRecordBatch,
  type DecodedRecordBatch,
  type RecordBatchInput,
} from '../../../src/protocol/records/index.js'
import { ALL_CODECS, batchInputArbitrary, dataRecordsOf, expectedRecords, plainRecords, propertyOptions, recordsArbitrary } from './helpers.js'

function assertHeaderMatches(batch: DecodedRecordBatch, input: RecordBatchInput, size: number): void {
  const timestamps = input.records.map((record) => record.timestamp)
  assert.equal(batch.magic, 2)
  assert.equal(batch.baseOffset, input.baseOffset ?? 0n)
  assert.equal(batch.lastOffsetDelta, input.records.length - 1)
  assert.equal(batch.lastOffset, (input.baseOffset ?? 0n) + BigInt(input.records.length - 1))
  assert.equal(batch.partitionLeaderEpoch, input.partitionLeaderEpoch ?? -1)
  assert.equal(batch.compression, input.compression ?? 'none')
  assert.equal(batch.timestampType, 'create-time')
  assert.equal(batch.isTransactional, input.transactional ?? false)
  assert.equal(batch.isControl, false)
  assert.equal(batch.deleteHorizonMs, null)
  assert.equal(batch.baseTimestamp, timestamps[0])
  assert.equal(batch.maxTimestamp, Math.max(...timestamps))
  assert.equal(batch.producerId, input.producerId ?? -1n)
  assert.equal(batch.producerEpoch, input.producerEpoch ?? -1)
  assert.equal(batch.baseSequence, input.baseSequence ?? -1)
  assert.equal(batch.recordCount, input.records.length)
  assert.equal(batch.sizeInBytes, size)
}

describe('record batch round trip', () => {
  it('decodes what it encodes: every codec, header field, null key/value and header', () => {
    fc.assert(
      fc.property(batchInputArbitrary, (input) => {
        const bytes = encodeRecordBatch(input)
        const batch = decodeRecordBatch(bytes)
        assertHeaderMatches(batch, input, bytes.length)
        assert.deepEqual(plainRecords(dataRecordsOf(batch)), expectedRecords(input))
      }),
      propertyOptions(250),
    )
  })

  it('decodes a fetch of several batches, mixing codecs, in order', () => {
    fc.assert(
      fc.property(fc.array(batchInputArbitrary, { minLength: 1, maxLength: 5 }), (inputs) => {
        const parts = inputs.map((input) => encodeRecordBatch(input))
        const decoded = decodeRecordBatches(Buffer.concat(parts))
        assert.equal(decoded.partialBatch, null)
        assert.equal(decoded.bytesDecoded, parts.reduce((sum, part) => sum + part.length, 0))
        assert.equal(decoded.batches.length, inputs.length)
        decoded.batches.forEach((batch, i) => {
          assertHeaderMatches(batch, inputs[i]!, parts[i]!.length)
          assert.deepEqual(plainRecords(dataRecordsOf(batch)), expectedRecords(inputs[i]!))
        })
      }),
      propertyOptions(60),
    )
  })

  it('skips and reports a batch cut anywhere by the fetch size limit', () => {
    fc.assert(
      fc.property(fc.array(batchInputArbitrary, { minLength: 2, maxLength: 4 }), fc.nat(), (inputs, cutSeed) => {
        const parts = inputs.map((input) => encodeRecordBatch(input))
        const whole = Buffer.concat(parts)
        const lastStart = whole.length - parts[parts.length - 1]!.length
        const cut = lastStart + 1 + (cutSeed % (parts[parts.length - 1]!.length - 1)) // inside the last batch
        const decoded = decodeRecordBatches(whole.subarray(0, cut))
        assert.equal(decoded.batches.length, inputs.length - 1)
        assert.equal(decoded.bytesDecoded, lastStart)
        const partial = decoded.partialBatch
        assert.ok(partial !== null)
        assert.equal(partial.position, lastStart)
        assert.equal(partial.availableBytes, cut - lastStart)
        assert.equal(partial.baseOffset, cut - lastStart >= 8 ? (inputs[inputs.length - 1]!.baseOffset ?? 0n) : null)
        assert.equal(partial.sizeInBytes, cut - lastStart >= 12 ? parts[parts.length - 1]!.length : null)
      }),
      propertyOptions(150),
    )
  })

  it('returns nothing for an empty fetch', () => {
    assert.deepEqual(decodeRecordBatches(Buffer.alloc(0)), { batches: [], bytesDecoded: 0, partialBatch: null })
  })

  it('returns views into the fetched bytes for uncompressed keys and values (no copy)', () => {
    const bytes = encodeRecordBatch({ records: [{ key: 'k', value: 'value', timestamp: 1 }] })
    const [record] = dataRecordsOf(decodeRecordBatch(bytes))
    assert.ok(record !== undefined && record.value !== null)
    assert.equal(record.value.buffer, bytes.buffer)
    bytes[bytes.length - 2] = 0x21 // the last byte of the value, before the header count
    assert.equal(record.value.toString(), 'valu!')
  })

  it('keeps timestamps exact for deltas past the int32 range and negative deltas', () => {
    const records = [
      { value: 'a', timestamp: 1_700_000_000_000 },
      { value: 'b', timestamp: 1_700_000_000_000 - 5 },
      { value: 'c', timestamp: 1_700_000_000_000 + 2 ** 40 },
    ]
    for (const compression of ALL_CODECS) {
      const batch = decodeRecordBatch(encodeRecordBatch({ records, compression }))
      assert.deepEqual(batch.records.map((record) => record.timestamp), records.map((record) => record.timestamp))
      assert.equal(batch.maxTimestamp, 1_700_000_000_000 + 2 ** 40)
    }
  })

  it('encodes string keys, values and header values as UTF-8', () => {
    const batch = decodeRecordBatch(encodeRecordBatch({ records: [{ key: 'ключ', value: '值', headers: [{ key: 'é', value: '✓' }], timestamp: 0 }] }))
    const record = dataRecordsOf(batch)[0]
    assert.ok(record !== undefined)
    assert.equal(record.key?.toString('utf8'), 'ключ')
    assert.equal(record.value?.toString('utf8'), '值')
    assert.deepEqual(record.headers.map((header) => [header.key, header.value?.toString('utf8')]), [['é', '✓']])
  })
})

describe('record batch encoding refuses what Kafka cannot carry', () => {
  const record = { value: 'v', timestamp: 0 }
  const cases: [string, RecordBatchInput][] = [
    ['no records', { records: [] }],
    ['a fractional timestamp', { records: [{ value: 'v', timestamp: 1.5 }] }],
    ['an unsafe timestamp', { records: [{ value: 'v', timestamp: 2 ** 60 }] }],
    ['a producer epoch past int16', { records: [record], producerEpoch: 40000 }],
    ['a base sequence past int32', { records: [record], baseSequence: 2 ** 31 }],
    ['a leader epoch past int32', { records: [record], partitionLeaderEpoch: -(2 ** 31) - 1 }],
    ['a base offset past int64', { records: [record], baseOffset: 2n ** 63n }],
    ['a producer id past int64', { records: [record], producerId: -(2n ** 63n) - 1n }],
  ]
  for (const [what, input] of cases) {
    it(`throws EncodeError for ${what}`, () => {
      assert.throws(() => encodeRecordBatch(input), EncodeError)
    })
  }

  it('throws EncodeError for a header key that is not a string', () => {
    const headers = [{ key: 42 as unknown as string, value: null }]
    assert.throws(() => encodeRecordBatch({ records: [{ value: 'v', headers, timestamp: 0 }] }), EncodeError)
  })
})

describe('record batch sizes', () => {
  it('writes batchLength as the size after the length field, for any records', () => {
    fc.assert(
      fc.property(recordsArbitrary(30), (records) => {
        const bytes = encodeRecordBatch({ records })
        assert.equal(bytes.readInt32BE(8), bytes.length - 12)
      }),
      propertyOptions(100),
    )
  })
})
