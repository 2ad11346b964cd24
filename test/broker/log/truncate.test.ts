/**
 * Truncating an in-memory partition log (fault injection's unclean election): whole batches from
 * the one holding the offset are gone, across segments, and appends go on from the new end.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assignOffsets } from '../../../src/broker/log/batches.js'
import type { LogConfig, PartitionLog } from '../../../src/broker/log/partition-log.js'
import { MemoryStorage } from '../../../src/broker/log/storage.js'
import { decodeRecordBatches, encodeRecordBatch } from '../../../src/protocol/records/index.js'

const config = (): LogConfig => ({ segmentBytes: 300, segmentMs: 7 * 24 * 3600 * 1000, retentionBytes: -1, retentionMs: -1 })

function append(log: PartitionLog, values: string[]): void {
  const batch = encodeRecordBatch({ records: values.map((value) => ({ value, timestamp: 1000 })) })
  assignOffsets(batch, log.logEndOffset, 0)
  log.append(batch, values.length, 1000, Date.now())
}

function valuesFrom(log: PartitionLog, offset: number): string[] {
  const bytes = log.read(offset, 1 << 20, true)
  return bytes === null ? [] : decodeRecordBatches(bytes).batches.flatMap((b) => (b.isControl ? [] : b.records.map((r) => r.value?.toString() ?? '')))
}

describe('PartitionLog.truncateTo', () => {
  it('drops the batch holding the offset and every later one, across segments', () => {
    const log = new MemoryStorage().openPartition('t', 0, config, Date.now())
    for (let i = 0; i < 10; i++) append(log, [`v${2 * i}`, `v${2 * i + 1}`])
    assert.ok(log.segmentCount > 2, 'the batches span several segments')
    // Offset 7 is in the batch 6-7: the log ends at 6.
    assert.equal(log.truncateTo(7), 6)
    assert.equal(log.logEndOffset, 6)
    assert.deepEqual(valuesFrom(log, 4), ['v4', 'v5'])
    append(log, ['w6', 'w7'])
    assert.equal(log.logEndOffset, 8)
    assert.deepEqual(valuesFrom(log, 6), ['w6', 'w7'])
    // At or past the end: nothing changes.
    assert.equal(log.truncateTo(50), 8)
    assert.equal(log.truncateTo(0), 0)
    assert.deepEqual(valuesFrom(log, 0), [])
  })
})
