import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { EncodeError } from '../../../src/protocol/errors/base.js'
import {
  decodeRecordBatch,
  encodeControlBatch,
  encodeRecordBatch,
  RecordBatchView,
  sliceRecordBatches,
} from '../../../src/protocol/records/index.js'
import { ALL_CODECS, assertDecodeError, batchInputArbitrary, dataRecordsOf, propertyOptions } from './helpers.js'

describe('RecordBatchView (the broker path: header access without decoding records)', () => {
  it('reads every header field as the decoder does', () => {
    fc.assert(
      fc.property(batchInputArbitrary, (input) => {
        const bytes = encodeRecordBatch(input)
        const view = RecordBatchView.at(bytes)
        const { records: _records, ...decodedHeader } = decodeRecordBatch(bytes)
        assert.deepEqual(view.header(), decodedHeader)
        assert.equal(view.baseOffset, decodedHeader.baseOffset)
        assert.equal(view.lastOffsetDelta, decodedHeader.lastOffsetDelta)
        assert.equal(view.lastOffset, decodedHeader.lastOffset)
        assert.equal(view.partitionLeaderEpoch, decodedHeader.partitionLeaderEpoch)
        assert.equal(view.compression, decodedHeader.compression)
        assert.equal(view.timestampType, decodedHeader.timestampType)
        assert.equal(view.isTransactional, decodedHeader.isTransactional)
        assert.equal(view.isControl, decodedHeader.isControl)
        assert.equal(view.maxTimestamp, decodedHeader.maxTimestamp)
        assert.equal(view.producerId, decodedHeader.producerId)
        assert.equal(view.producerEpoch, decodedHeader.producerEpoch)
        assert.equal(view.baseSequence, decodedHeader.baseSequence)
        assert.equal(view.recordCount, decodedHeader.recordCount)
        assert.equal(view.sizeInBytes, bytes.length)
        assert.ok(view.isCrcValid())
      }),
      propertyOptions(100),
    )
  })

  it('assigns offsets and leader epoch in place without touching the CRC', () => {
    for (const compression of ALL_CODECS) {
      const bytes = encodeRecordBatch({ records: [{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 2 }], compression })
      const crcBefore = bytes.readUInt32BE(17)
      const view = RecordBatchView.at(bytes)
      view.setBaseOffset(1_000_000_000_000n)
      view.setPartitionLeaderEpoch(17)
      assert.equal(bytes.readUInt32BE(17), crcBefore)
      const batch = decodeRecordBatch(bytes) // CRC still valid
      assert.equal(batch.partitionLeaderEpoch, 17)
      assert.deepEqual(dataRecordsOf(batch).map((record) => record.offset), [1_000_000_000_000n, 1_000_000_000_001n])
    }
  })

  it('sets LogAppendTime: type bit and maxTimestamp, CRC recomputed, every record then takes that time', () => {
    for (const compression of ALL_CODECS) {
      const bytes = encodeRecordBatch({ records: [{ value: 'a', timestamp: 1 }, { value: 'b', timestamp: 2 }], compression })
      const view = RecordBatchView.at(bytes)
      view.setLogAppendTime(1_700_000_000_123)
      assert.ok(view.isCrcValid())
      const batch = decodeRecordBatch(bytes)
      assert.equal(batch.timestampType, 'log-append-time')
      assert.equal(batch.maxTimestamp, 1_700_000_000_123)
      assert.equal(batch.baseTimestamp, 1)
      assert.deepEqual(dataRecordsOf(batch).map((record) => record.timestamp), [1_700_000_000_123, 1_700_000_000_123])
      view.setMaxTimestamp('create-time', 2)
      assert.deepEqual(dataRecordsOf(decodeRecordBatch(bytes)).map((record) => record.timestamp), [1, 2])
    }
  })

  it('works on a batch in the middle of a larger buffer, changing that buffer', () => {
    const first = encodeRecordBatch({ records: [{ value: 'x', timestamp: 0 }] })
    const second = encodeRecordBatch({ records: [{ value: 'y', timestamp: 0 }], baseOffset: 5n })
    const log = Buffer.concat([first, second])
    const view = RecordBatchView.at(log, first.length)
    assert.equal(view.baseOffset, 5n)
    view.setBaseOffset(9n)
    assert.equal(log.readBigInt64BE(first.length), 9n)
    assert.deepEqual(dataRecordsOf(view.decode()).map((record) => record.offset), [9n])
  })

  it('refuses values the header fields cannot hold, with EncodeError', () => {
    const view = RecordBatchView.at(encodeRecordBatch({ records: [{ value: 'v', timestamp: 0 }] }))
    assert.throws(() => view.setBaseOffset(2n ** 63n), EncodeError)
    assert.throws(() => view.setPartitionLeaderEpoch(2 ** 31), EncodeError)
    assert.throws(() => view.setLogAppendTime(1.5), EncodeError)
  })

  it('computes lastSequence with the int32 wrap-around Kafka uses', () => {
    const records = [0, 1, 2].map((i) => ({ value: `${i}`, timestamp: i }))
    const at = (baseSequence: number): number => RecordBatchView.at(encodeRecordBatch({ records, baseSequence, producerId: 1n, producerEpoch: 0 })).lastSequence
    assert.equal(at(10), 12)
    assert.equal(at(2 ** 31 - 2), 0)
    assert.equal(at(2 ** 31 - 1), 1)
    assert.equal(at(-1), -1)
  })

  it('reads control batches without decoding them', () => {
    const view = RecordBatchView.at(encodeControlBatch({ marker: 'abort', producerId: 4n, producerEpoch: 1, coordinatorEpoch: 0, timestamp: 0 }))
    assert.equal(view.isControl, true)
    assert.equal(view.isTransactional, true)
    assert.equal(view.producerId, 4n)
  })

  it('validates framing, magic and CRC when made', () => {
    const bytes = encodeRecordBatch({ records: [{ value: 'v', timestamp: 0 }] })
    assertDecodeError(() => RecordBatchView.at(bytes.subarray(0, bytes.length - 1)), 'DECODE_TRUNCATED')
    const badCrc = Buffer.from(bytes)
    badCrc[bytes.length - 1] = badCrc[bytes.length - 1]! ^ 1
    assertDecodeError(() => RecordBatchView.at(badCrc), 'DECODE_CRC_MISMATCH')
    assert.equal(RecordBatchView.at(badCrc, 0, { verifyCrc: false }).isCrcValid(), false)
    const legacyMagic = Buffer.from(bytes)
    legacyMagic[16] = 1
    assertDecodeError(() => RecordBatchView.at(legacyMagic, 0, { verifyCrc: false }), 'DECODE_UNSUPPORTED_VERSION')
  })
})

describe('sliceRecordBatches', () => {
  it('splits back-to-back batches into views and reports a cut-off tail', () => {
    const parts = [0n, 3n, 10n].map((baseOffset) => encodeRecordBatch({ records: [{ value: 'v', timestamp: 0 }], baseOffset }))
    const whole = Buffer.concat(parts)
    const { batches, partialBatch } = sliceRecordBatches(whole.subarray(0, whole.length - 5))
    assert.deepEqual(batches.map((batch) => batch.baseOffset), [0n, 3n])
    assert.equal(partialBatch?.baseOffset, 10n)
    assert.equal(sliceRecordBatches(whole).partialBatch, null)
  })
})
