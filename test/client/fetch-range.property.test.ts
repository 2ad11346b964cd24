/**
 * Invariant: where a fetch's bytes lead (the next fetch offset, a batch too large for the fetch,
 * the last batch's leader epoch), read from the batch headers alone by `rangeOfFetch`, is what a
 * full decode by `recordsFromFetch` says. The consumer sends its next fetch from the first and
 * decodes with the second only when the application takes the records, so a disagreement would
 * skip or repeat records.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { rangeOfFetch, recordsFromFetch } from '../../src/client/consumer/records.js'
import { encodeControlBatch, encodeRecordBatch } from '../../src/protocol/records/index.js'

interface BatchSpec {
  /** Offsets skipped before the batch, as compaction leaves them. */
  gap: number
  count: number
  epoch: number
  control: boolean
  compressed: boolean
}

const batchSpec = fc.record({
  gap: fc.nat({ max: 5 }),
  count: fc.integer({ min: 1, max: 6 }),
  epoch: fc.integer({ min: -1, max: 40 }),
  control: fc.boolean(),
  compressed: fc.boolean(),
})

function encode(specs: readonly BatchSpec[], firstOffset: bigint): { bytes: Buffer; lastOffset: bigint } {
  const parts: Buffer[] = []
  let next = firstOffset
  for (const spec of specs) {
    next += BigInt(spec.gap)
    if (spec.control) {
      parts.push(encodeControlBatch({ baseOffset: next, partitionLeaderEpoch: spec.epoch, marker: 'commit', producerId: 7n, producerEpoch: 0, coordinatorEpoch: 0, timestamp: 0 }))
      next += 1n
    } else {
      const records = Array.from({ length: spec.count }, (_, i) => ({ key: null, value: `v${next + BigInt(i)}`, timestamp: 1_700_000_000_000 + i }))
      parts.push(encodeRecordBatch({ baseOffset: next, partitionLeaderEpoch: spec.epoch, compression: spec.compressed ? 'gzip' : 'none', records }))
      next += BigInt(spec.count)
    }
  }
  return { bytes: Buffer.concat(parts), lastOffset: next - 1n }
}

describe('rangeOfFetch', () => {
  it('agrees with a full decode on the next offset, a too-large batch and the last epoch', () => {
    fc.assert(
      fc.property(
        fc.array(batchSpec, { maxLength: 8 }),
        fc.bigInt({ min: 0n, max: 2n ** 40n }),
        fc.nat({ max: 60 }),
        fc.option(fc.nat(), { nil: undefined }),
        (specs, firstOffset, fetchAhead, cutAt) => {
          const { bytes: whole } = encode(specs, firstOffset)
          // The broker may stop mid-batch at the fetch's byte limit.
          const bytes = cutAt === undefined ? whole : whole.subarray(0, cutAt % (whole.length + 1))
          const fetchOffset = firstOffset + BigInt(fetchAhead)
          const decoded = recordsFromFetch(bytes, { topic: 't', partition: 0, fetchOffset, readCommitted: false, aborted: null, verifyCrc: true })
          const range = rangeOfFetch(bytes, fetchOffset)
          assert.deepEqual(range, { nextOffset: decoded.nextOffset, tooLarge: decoded.tooLarge, lastEpoch: decoded.lastEpoch })
        },
      ),
      { numRuns: 300 },
    )
  })

  it('leaves bytes it cannot frame as v2 batches to a full decode', () => {
    const { bytes } = encode([{ gap: 0, count: 2, epoch: 3, control: false, compressed: false }], 0n)
    const legacy = Buffer.from(bytes)
    legacy[16] = 1 // magic 1: a legacy message set, whose end only its messages tell
    assert.equal(rangeOfFetch(legacy, 0n), null)
    const shortBatch = Buffer.from(bytes)
    shortBatch.writeInt32BE(20, 8) // a batch length below the v2 header's
    assert.equal(rangeOfFetch(shortBatch, 0n), null)
  })
})
