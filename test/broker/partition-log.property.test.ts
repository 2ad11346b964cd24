/**
 * Properties of a partition log over random appends, segment rolls, reads and trims: a read returns
 * whole batches starting with the one holding the requested offset, offsets stay contiguous, and
 * retention and DeleteRecords only ever remove a prefix. Memory and file segments must agree.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { assignOffsets } from '../../src/broker/log/batches.js'
import type { LogConfig, PartitionLog } from '../../src/broker/log/partition-log.js'
import { DirectoryStorage, MemoryStorage } from '../../src/broker/log/storage.js'
import { silentLogger } from '../../src/broker/options.js'
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/records/index.js'

type Op = { kind: 'append'; count: number; size: number } | { kind: 'read'; at: number; maxBytes: number } | { kind: 'trim'; at: number } | { kind: 'retain' }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 5 }), size: fc.integer({ min: 0, max: 120 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), at: fc.nat(), maxBytes: fc.integer({ min: 1, max: 2000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('trim' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retain' as const) }) },
)

function run(log: PartitionLog, ops: Op[]): void {
  let next = 0
  for (const o of ops) {
    switch (o.kind) {
      case 'append': {
        const batch = encodeRecordBatch({ records: Array.from({ length: o.count }, (_, i) => ({ value: 'x'.repeat(o.size), timestamp: 1000 + i })) })
        assignOffsets(batch, log.logEndOffset, 0)
        log.append(batch, o.count, 1000 + o.count - 1, Date.now())
        next += o.count
        assert.equal(log.logEndOffset, next)
        break
      }
      case 'read': {
        if (log.logEndOffset === log.logStartOffset) break
        const offset = log.logStartOffset + (o.at % (log.logEndOffset - log.logStartOffset))
        const bytes = log.read(offset, o.maxBytes, true)
        assert.ok(bytes !== null)
        const { batches, partialBatch } = decodeRecordBatches(bytes)
        assert.equal(partialBatch, null, 'reads end on batch boundaries')
        const first = batches[0]!
        assert.ok(first.baseOffset <= BigInt(offset) && BigInt(offset) <= first.lastOffset, 'first batch holds the offset')
        for (let i = 1; i < batches.length; i++) assert.equal(batches[i]!.baseOffset, batches[i - 1]!.lastOffset + 1n)
        assert.ok(batches.length === 1 || bytes.length <= o.maxBytes, 'only the first batch may exceed maxBytes')
        break
      }
      case 'trim': {
        const target = log.logStartOffset + (o.at % (log.logEndOffset - log.logStartOffset + 1))
        log.deleteRecordsBefore(target)
        assert.equal(log.logStartOffset, target)
        break
      }
      case 'retain': {
        const before = log.logStartOffset
        log.applyRetention(Date.now())
        assert.ok(log.logStartOffset >= before)
        assert.equal(log.logEndOffset, next)
        break
      }
    }
  }
}

const config = (): LogConfig => ({ segmentBytes: 400, segmentMs: 7 * 24 * 3600 * 1000, retentionBytes: 1500, retentionMs: -1 })

describe('partition log properties', () => {
  it('holds in memory', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const log = new MemoryStorage().openPartition('t', 0, config, Date.now())
        run(log, ops)
      }),
      { numRuns: 200 },
    )
  })

  it('holds on disk, and a reopened log has the same offsets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-log-'))
    try {
      let round = 0
      fc.assert(
        fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
          const storage = new DirectoryStorage(join(dir, String(round++)), silentLogger)
          const log = storage.openPartition('t', 0, config, Date.now(), () => {})
          run(log, ops)
          const { logStartOffset, logEndOffset } = log
          log.close()
          const reopened = storage.openPartition('t', 0, config, Date.now(), () => {})
          assert.equal(reopened.logEndOffset, logEndOffset)
          assert.equal(reopened.logStartOffset, logStartOffset)
          reopened.close()
        }),
        { numRuns: 40 },
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
