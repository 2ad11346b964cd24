/**
 * Invariant of the transactional delivery's bookkeeping (`HeldOutputs`), whatever the order records
 * of different keys finish in (key mode), the metadata budget, the transaction size limit and the
 * transactions that abort: after every transaction that commits (the moment a crash may come),
 * - a record's outputs are written if and only if the stored commit says it is done (below the
 *   offset, or in the done ranges of the metadata): a next owner neither runs a written record
 *   again (no duplicate) nor skips one whose outputs are not written (no loss);
 * - each record's outputs are written once, one key's in offset order;
 * - no transaction carries more than the limit, unless one job alone is larger or it carries only
 *   key mode's records done above the commit point (the metadata names them together);
 * - records that produced nothing (only counted, not held one by one) are never under-counted
 *   among the records done and not yet stored, and count for nothing once everything is stored.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { AssignedPartition } from '../../../src/processing/consumer-port.js'
import { HeldOutputs } from '../../../src/processing/delivery/held-outputs.js'
import { decodeDoneRanges, encodeDoneRanges, type OffsetRange } from '../../../src/processing/offset-metadata.js'
import { OffsetTracker } from '../../../src/processing/offset-tracker.js'

const TP = { topic: 'in', partition: 0 }

type Step = { readonly kind: 'done'; readonly pick: number } | { readonly kind: 'commit'; readonly limit: number; readonly budget: number; readonly abortAt: number | undefined }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('done' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('commit' as const),
      limit: fc.integer({ min: 1, max: 12 }),
      budget: fc.constantFrom(0, 12, 20, 3072),
      abortAt: fc.option(fc.nat({ max: 3 }), { nil: undefined }),
    }),
  },
)

function inRanges(offset: bigint, ranges: readonly OffsetRange[]): boolean {
  return ranges.some(([from, to]) => from <= offset && offset < to)
}

describe('held outputs of the transactional delivery (property)', () => {
  it('written outputs are exactly the records the stored commit calls done, each once, in key order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 6 }),
        // What a previous owner stored: done ranges above its commit point, skipped by this owner.
        fc.array(fc.nat({ max: 39 }), { maxLength: 6 }),
        fc.array(step, { maxLength: 120 }),
        // Every silent-th record produces nothing (0: all produce an output).
        fc.integer({ min: 0, max: 3 }),
        (records, keys, previouslyDone, steps, silentEvery) => {
          const silent = (offset: bigint): boolean => silentEvery > 0 && offset % BigInt(silentEvery) === 0n
          const held = new HeldOutputs()
          const tracker = new OffsetTracker()
          tracker.receive(Array.from({ length: records }, (_, i) => ({ offset: BigInt(i) })), BigInt(records))
          // The previous owner committed offset 0 with some records above it done (and written).
          const previous = [...new Set(previouslyDone.filter((o) => o > 0 && o < records))].sort((a, b) => a - b).map((o) => BigInt(o))
          const previousRanges: OffsetRange[] = []
          for (const o of previous) {
            const last = previousRanges.at(-1)
            if (last !== undefined && last[1] === o) previousRanges[previousRanges.length - 1] = [last[0], o + 1n]
            else previousRanges.push([o, o + 1n])
          }
          const metadata = encodeDoneRanges(0n, previousRanges)
          const assigned: AssignedPartition = { ...TP, committed: { offset: 0n, metadata: metadata === '' ? null : metadata } }
          held.assigned([assigned])
          let stored = { offset: 0n, ranges: decodeDoneRanges(0n, assigned.committed?.metadata ?? null) }
          const written = new Map<bigint, number>()
          for (const o of previous) written.set(o, 1)
          const writtenOrder: bigint[] = []
          // Key queues: a key's records finish in offset order; the previous owner's are done already.
          const queues = Array.from({ length: keys }, (_, k) => Array.from({ length: records }, (_, i) => BigInt(i)).filter((o) => Number(o) % keys === k && !previous.includes(o)))
          for (const o of previous) tracker.markDone(o)

          // Records this owner finished (the previous owner's are not held here).
          const doneHere = new Set<bigint>()
          const check = (): void => {
            let doneNotStored = 0
            for (let i = 0n; i < BigInt(records); i++) {
              const done = i < stored.offset || inRanges(i, stored.ranges)
              if (!done && doneHere.has(i)) doneNotStored++
              if (silent(i) && !previous.includes(i)) {
                assert.equal(written.has(i), false, `record ${i} produced nothing, yet something of it was written`)
                continue
              }
              assert.equal(written.has(i), done, `record ${i}: written ${written.has(i)}, stored as done ${done} (offset ${stored.offset}, ranges ${JSON.stringify(stored.ranges.map(String))})`)
            }
            assert.ok(held.records >= doneNotStored, `${held.records} records counted as held, ${doneNotStored} done and not stored`)
            if (stored.offset === BigInt(records)) assert.equal(held.records, 0, 'records still counted as held once every record is stored')
          }
          for (const s of steps) {
            if (s.kind === 'done') {
              const open = queues.filter((q) => q.length > 0)
              if (open.length === 0) continue
              const offset = (open[s.pick % open.length] as bigint[]).shift() as bigint
              tracker.markDone(offset)
              doneHere.add(offset)
              held.add(TP, { offsets: [offset], outputs: silent(offset) ? [] : [{ topic: 'out', key: String(Number(offset) % keys), value: String(offset) }] })
              continue
            }
            const offset = tracker.committable()
            if (offset === undefined) continue
            const encoded = encodeDoneRanges(offset, tracker.doneAbove(), s.budget)
            const commit = encoded === '' ? { ...TP, offset } : { ...TP, offset, metadata: encoded }
            for (let transaction = 0; ; transaction++) {
              const share = held.covered([commit], s.limit)
              // Over the limit only with one job, or with the records done above the commit point alone
              // (the metadata names them all, so they go together).
              const aboveOnly = [...share.works].every((w) => w.offsets.every((o) => o >= offset))
              assert.ok(share.records <= s.limit || share.works.size === 1 || aboveOnly, `a transaction of ${share.records} records over the limit ${s.limit}`)
              // An aborted transaction stores and writes nothing; the commit fails and is asked for again later.
              if (s.abortAt === transaction) break
              for (const output of share.outputs) {
                const input = BigInt(output.value as string)
                assert.equal(written.has(input), false, `record ${input} written twice`)
                written.set(input, 1)
                writtenOrder.push(input)
              }
              const storedCommit = share.offsets[0]
              assert.ok(storedCommit !== undefined)
              assert.ok(storedCommit.offset >= stored.offset, 'the stored offset went back')
              stored = { offset: storedCommit.offset, ranges: decodeDoneRanges(storedCommit.offset, storedCommit.metadata ?? null) }
              held.release(share)
              check()
              if (share.complete) break
            }
          }
          for (let k = 0; k < keys; k++) {
            const ofKey = writtenOrder.filter((o) => Number(o) % keys === k)
            assert.deepEqual(ofKey, [...ofKey].sort((a, b) => (a < b ? -1 : 1)), `key ${k} written out of order`)
          }
        },
      ),
      { numRuns: 400 },
    )
  })
})
