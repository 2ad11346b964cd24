import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { OffsetTracker } from '../../src/processing/offset-tracker.js'
import { OffsetTrackingError } from '../../src/processing/errors.js'

/** Offsets as a fetcher would deliver them: increasing, with gaps (compaction, transaction markers). */
const offsetsWithGaps = fc
  .record({
    start: fc.bigInt({ min: 0n, max: 1n << 40n }),
    gaps: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 200 }),
  })
  .map(({ start, gaps }) => {
    const offsets: bigint[] = []
    let next = start
    for (const gap of gaps) {
      offsets.push(next)
      next += BigInt(gap)
    }
    return offsets
  })

/** Records as the tracker sees them. */
function at(...offsets: bigint[]): { offset: bigint }[] {
  return offsets.map((offset) => ({ offset }))
}

describe('OffsetTracker', () => {
  it('has nothing to commit before the first record', () => {
    assert.equal(new OffsetTracker().committable(), undefined)
  })

  it('commits past records done in order and stops at the first unfinished one', () => {
    const tracker = new OffsetTracker()
    tracker.receive(at(10n, 11n, 12n))
    assert.equal(tracker.committable(), 10n)
    tracker.markDone(11n)
    assert.equal(tracker.committable(), 10n, 'offset 10 is unfinished, so 11 cannot be committed')
    tracker.markDone(10n)
    assert.equal(tracker.committable(), 12n)
    tracker.markDone(12n)
    assert.equal(tracker.committable(), 13n)
  })

  it('does not let offsets the fetcher never delivered hold the commit back', () => {
    const tracker = new OffsetTracker()
    tracker.receive(at(5n))
    tracker.receive(at(9n)) // 6..8: a transaction's records were aborted, or compacted away
    tracker.markDone(5n)
    assert.equal(tracker.committable(), 9n)
    tracker.markDone(9n)
    assert.equal(tracker.committable(), 10n)
    tracker.advanceTo(12n) // a commit marker at 10 and 11 ended the fetch
    assert.equal(tracker.committable(), 12n)
  })

  it('ignores records delivered again below the fetch position and registers the rest', () => {
    const tracker = new OffsetTracker()
    assert.deepEqual(tracker.receive(at(3n, 4n)), at(3n, 4n))
    assert.deepEqual(tracker.receive(at(3n)), [])
    assert.deepEqual(tracker.receive(at(4n, 5n, 6n)), at(5n, 6n), 'a refetch overlapping the position')
    assert.equal(tracker.pending, 4)
    tracker.markDone(3n)
    tracker.markDone(4n)
    tracker.markDone(5n)
    assert.equal(tracker.committable(), 6n)
  })

  it('reports the records done above the commit point as ranges, spanning offsets never delivered', () => {
    const tracker = new OffsetTracker()
    tracker.receive(at(0n, 1n, 2n))
    tracker.receive(at(5n, 6n, 9n, 10n)) // 3, 4, 7 and 8 carry no record
    for (const offset of [1n, 2n, 5n, 9n]) tracker.markDone(offset)
    assert.equal(tracker.committable(), 0n)
    assert.deepEqual(tracker.doneAbove(), [
      [1n, 6n],
      [9n, 10n],
    ])
    tracker.markDone(0n)
    assert.equal(tracker.committable(), 6n)
    assert.deepEqual(tracker.doneAbove(), [[9n, 10n]])
  })

  it('rejects marking a record done twice or one it never received', () => {
    const tracker = new OffsetTracker()
    tracker.receive(at(0n, 1n))
    tracker.markDone(1n)
    assert.throws(() => tracker.markDone(1n), OffsetTrackingError)
    assert.throws(() => tracker.markDone(7n), OffsetTrackingError)
  })

  it('property: with batches and completions interleaved at random, the committable offset is the first unfinished one', () => {
    fc.assert(
      fc.property(offsetsWithGaps, fc.array(fc.nat(), { maxLength: 600 }), fc.nat({ max: 5 }), (offsets, steps, tail) => {
        const tracker = new OffsetTracker()
        const unfinished: bigint[] = [] // received and not done, in offset order
        const done = new Set<bigint>()
        let received = 0

        const check = (): void => {
          const committable = tracker.committable()
          if (received === 0) return assert.equal(committable, undefined)
          assert.ok(committable !== undefined)
          for (const offset of unfinished) assert.ok(committable <= offset, `committable ${committable} passed unfinished ${offset}`)
          const expected = unfinished[0] ?? (offsets[received - 1] as bigint) + 1n
          assert.equal(committable, expected)
          assert.equal(tracker.pending, unfinished.length)
          // The ranges for the next owner cover every record done above the commit point and no other record.
          const ranges = tracker.doneAbove()
          const covered = (offset: bigint): boolean => ranges.some(([from, to]) => from <= offset && offset < to)
          for (const [from, to] of ranges) assert.ok(committable < from && from < to, `range [${from}, ${to}) at or below ${committable}`)
          for (const offset of unfinished) assert.ok(!covered(offset), `unfinished ${offset} is in a done range`)
          for (const offset of done) if (offset > committable) assert.ok(covered(offset), `done ${offset} is in no range`)
        }

        // A batch of 1 to 4 records; sometimes a refetch delivers the previous record again first.
        const receiveNext = (step: number): void => {
          const size = Math.min(1 + (step % 4), offsets.length - received)
          const batch = offsets.slice(received, received + size)
          const again = step % 3 === 0 && received > 0 ? [offsets[received - 1] as bigint] : []
          assert.deepEqual(tracker.receive(at(...again, ...batch)), at(...batch))
          received += size
          unfinished.push(...batch)
        }

        for (const step of steps) {
          // Even steps receive records while any remain; odd ones finish a random unfinished one.
          if ((step % 2 === 0 || unfinished.length === 0) && received < offsets.length) receiveNext(step >> 1)
          else if (unfinished.length > 0) {
            const [offset] = unfinished.splice(step % unfinished.length, 1)
            tracker.markDone(offset as bigint)
            done.add(offset as bigint)
          }
          check()
        }

        // Everything finishes, in a random order: the commit reaches the end.
        while (received < offsets.length) receiveNext(received)
        while (unfinished.length > 0) {
          const [offset] = unfinished.splice((steps.length * 7919 + unfinished.length) % unfinished.length, 1)
          tracker.markDone(offset as bigint)
          done.add(offset as bigint)
          check()
        }
        const last = offsets[offsets.length - 1] as bigint
        assert.equal(tracker.committable(), last + 1n)
        assert.deepEqual(tracker.doneAbove(), [])
        tracker.advanceTo(last + 1n + BigInt(tail))
        assert.equal(tracker.committable(), last + 1n + BigInt(tail))
      }),
      { numRuns: 300 },
    )
  })

  it('property: any completion order of a long run reaches the end and never passes an unfinished record', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }).chain((n) => fc.tuple(fc.constant(n), fc.shuffledSubarray([...Array(n).keys()], { minLength: n }))),
        ([n, order]) => {
          const tracker = new OffsetTracker()
          // Fetched in batches of 100, as a consumer delivers them.
          for (let i = 0; i < n; i += 100) tracker.receive(at(...Array.from({ length: Math.min(100, n - i) }, (_, j) => BigInt(i + j))))
          const finished = new Uint8Array(n)
          let firstUnfinished = 0
          for (const index of order) {
            tracker.markDone(BigInt(index))
            finished[index] = 1
            while (firstUnfinished < n && finished[firstUnfinished] === 1) firstUnfinished++
            assert.equal(tracker.committable(), BigInt(firstUnfinished))
          }
          assert.equal(tracker.committable(), BigInt(n))
        },
      ),
      { numRuns: 100 },
    )
  })
})
