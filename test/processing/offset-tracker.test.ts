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

describe('OffsetTracker', () => {
  it('has nothing to commit before the first record', () => {
    assert.equal(new OffsetTracker().committable(), undefined)
  })

  it('commits past records done in order and stops at the first unfinished one', () => {
    const tracker = new OffsetTracker()
    for (const offset of [10n, 11n, 12n]) tracker.receive(offset)
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
    tracker.receive(5n)
    tracker.receive(9n) // 6..8: a transaction's records were aborted, or compacted away
    tracker.markDone(5n)
    assert.equal(tracker.committable(), 9n)
    tracker.markDone(9n)
    assert.equal(tracker.committable(), 10n)
    tracker.advanceTo(12n) // a commit marker at 10 and 11 ended the fetch
    assert.equal(tracker.committable(), 12n)
  })

  it('ignores a record delivered again below the fetch position', () => {
    const tracker = new OffsetTracker()
    assert.equal(tracker.receive(3n), true)
    assert.equal(tracker.receive(3n), false)
    assert.equal(tracker.pending, 1)
  })

  it('rejects marking a record done twice or one it never received', () => {
    const tracker = new OffsetTracker()
    tracker.receive(0n)
    tracker.receive(1n)
    tracker.markDone(1n)
    assert.throws(() => tracker.markDone(1n), OffsetTrackingError)
    assert.throws(() => tracker.markDone(7n), OffsetTrackingError)
  })

  it('property: with receipts and completions interleaved at random, the committable offset is the first unfinished one', () => {
    fc.assert(
      fc.property(offsetsWithGaps, fc.array(fc.nat(), { maxLength: 600 }), fc.nat({ max: 5 }), (offsets, steps, tail) => {
        const tracker = new OffsetTracker()
        const unfinished: bigint[] = [] // received and not done, in offset order
        let received = 0

        const check = (): void => {
          const committable = tracker.committable()
          if (received === 0) return assert.equal(committable, undefined)
          assert.ok(committable !== undefined)
          for (const offset of unfinished) assert.ok(committable <= offset, `committable ${committable} passed unfinished ${offset}`)
          const expected = unfinished[0] ?? (offsets[received - 1] as bigint) + 1n
          assert.equal(committable, expected)
          assert.equal(tracker.pending, unfinished.length)
        }

        const receiveNext = (): void => {
          const offset = offsets[received++] as bigint
          tracker.receive(offset)
          unfinished.push(offset)
        }

        for (const step of steps) {
          // Even steps receive the next record while any remain; odd ones finish a random unfinished one.
          if ((step % 2 === 0 || unfinished.length === 0) && received < offsets.length) receiveNext()
          else if (unfinished.length > 0) {
            const [offset] = unfinished.splice(step % unfinished.length, 1)
            tracker.markDone(offset as bigint)
          }
          check()
        }

        // Everything finishes, in a random order: the commit reaches the end.
        while (received < offsets.length) receiveNext()
        while (unfinished.length > 0) {
          const [offset] = unfinished.splice((steps.length * 7919 + unfinished.length) % unfinished.length, 1)
          tracker.markDone(offset as bigint)
          check()
        }
        const last = offsets[offsets.length - 1] as bigint
        assert.equal(tracker.committable(), last + 1n)
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
          for (let i = 0; i < n; i++) tracker.receive(BigInt(i))
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
