import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  decodeRecordBatch,
  decodeRecordBatches,
  encodeControlBatch,
  encodeRecordBatch,
  type ControlRecord,
  type DecodedRecordBatch,
} from '../../../src/protocol/records/index.js'
import { assertDecodeError, propertyOptions, refreshCrc } from './helpers.js'

const CONTROL_BIT = 0x20

function controlRecordsOf(batch: DecodedRecordBatch | undefined): ControlRecord[] {
  assert.ok(batch !== undefined && batch.isControl, 'expected a control batch')
  return batch.records
}

/** A batch with the control bit set around records of any key and value, as a broker might write. */
function controlBatchOf(key: Buffer | null, value: Buffer | null): Buffer {
  const bytes = encodeRecordBatch({ records: [{ key, value, timestamp: 7 }], baseOffset: 40n, transactional: true, producerId: 3n, producerEpoch: 0 })
  bytes.writeUInt16BE(bytes.readUInt16BE(21) | CONTROL_BIT, 21)
  return refreshCrc(bytes)
}

describe('control batches (transaction markers, KIP-98)', () => {
  it('round-trip: abort and commit markers with their producer and coordinator epoch', () => {
    fc.assert(
      fc.property(
        fc.record({
          marker: fc.constantFrom('abort' as const, 'commit' as const),
          producerId: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
          producerEpoch: fc.integer({ min: 0, max: 32767 }),
          coordinatorEpoch: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
          timestamp: fc.integer({ min: 0, max: 2 ** 50 }),
          baseOffset: fc.bigInt({ min: 0n, max: 2n ** 62n }),
          partitionLeaderEpoch: fc.integer({ min: 0, max: 1000 }),
        }),
        (input) => {
          const batch = decodeRecordBatch(encodeControlBatch(input))
          assert.equal(batch.isControl, true)
          assert.equal(batch.isTransactional, true)
          assert.equal(batch.producerId, input.producerId)
          assert.equal(batch.producerEpoch, input.producerEpoch)
          assert.equal(batch.baseSequence, -1)
          assert.equal(batch.partitionLeaderEpoch, input.partitionLeaderEpoch)
          assert.deepEqual(controlRecordsOf(batch), [
            {
              type: input.marker,
              offset: input.baseOffset,
              timestamp: input.timestamp,
              keyVersion: 0,
              valueVersion: 0,
              coordinatorEpoch: input.coordinatorEpoch,
            },
          ])
        },
      ),
      propertyOptions(100),
    )
  })

  it('writes the marker as Kafka does: key = version 0 + type, value = version 0 + coordinator epoch', () => {
    const decoded = decodeRecordBatches(encodeControlBatch({ marker: 'commit', producerId: 1n, producerEpoch: 2, coordinatorEpoch: 9, timestamp: 5 }))
    const bytes = encodeControlBatch({ marker: 'commit', producerId: 1n, producerEpoch: 2, coordinatorEpoch: 9, timestamp: 5 })
    // Re-read the raw record with the control bit cleared: the key and value bytes themselves.
    bytes.writeUInt16BE(bytes.readUInt16BE(21) & ~CONTROL_BIT, 21)
    const raw = decodeRecordBatch(refreshCrc(bytes))
    assert.ok(!raw.isControl)
    assert.deepEqual([...(raw.records[0]?.key ?? [])], [0, 0, 0, 1])
    assert.deepEqual([...(raw.records[0]?.value ?? [])], [0, 0, 0, 0, 0, 9])
    assert.equal(decoded.batches[0]?.isControl, true)
  })

  it('keeps control types it does not know (KRaft markers) raw instead of failing', () => {
    const batch = decodeRecordBatch(controlBatchOf(Buffer.from([0, 0, 0, 2]), Buffer.from([1, 2, 3])))
    const [record] = controlRecordsOf(batch)
    assert.ok(record !== undefined && record.type === 'unknown')
    assert.equal(record.typeId, 2)
    assert.equal(record.offset, 40n)
    assert.deepEqual([...(record.value ?? [])], [1, 2, 3])
  })

  it('accepts a longer end-transaction value from a newer marker version', () => {
    const [record] = controlRecordsOf(decodeRecordBatch(controlBatchOf(Buffer.from([0, 0, 0, 0]), Buffer.from([0, 1, 0, 0, 0, 4, 0xff]))))
    assert.deepEqual(record, { type: 'abort', offset: 40n, timestamp: 7, keyVersion: 0, valueVersion: 1, coordinatorEpoch: 4 })
  })

  it('rejects control records whose key or value is too short', () => {
    assertDecodeError(() => decodeRecordBatch(controlBatchOf(Buffer.from([0, 0, 0]), null)), 'DECODE_CORRUPT_RECORDS')
    assertDecodeError(() => decodeRecordBatch(controlBatchOf(null, null)), 'DECODE_CORRUPT_RECORDS')
    assertDecodeError(() => decodeRecordBatch(controlBatchOf(Buffer.from([0, 0, 0, 1]), Buffer.from([0, 0, 0]))), 'DECODE_CORRUPT_RECORDS')
    assertDecodeError(() => decodeRecordBatch(controlBatchOf(Buffer.from([0, 0, 0, 1]), null)), 'DECODE_CORRUPT_RECORDS')
  })
})
