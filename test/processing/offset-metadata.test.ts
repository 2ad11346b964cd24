/**
 * The done-ranges codec of commit metadata. Invariants: what is encoded decodes to the same ranges
 * for the same commit offset; truncation keeps the longest prefix that fits in maxBytes (UTF-8);
 * decoding never throws and never yields an invalid range or a range at or below the commit
 * offset; metadata of other writers, or written for another commit offset, yields nothing.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { decodeDoneRanges, encodeDoneRanges, type OffsetRange } from '../../src/processing/offset-metadata.js'

const INT64_MAX = (1n << 63n) - 1n
const MARKER = 'baton.done.1:'
const UNLIMITED = Number.MAX_SAFE_INTEGER

/** Gaps and lengths mostly small (as in a real partition), sometimes huge, to reach multi-byte varints. */
const step = fc.oneof({ weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 300n }) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 1n << 40n }) })

/** A commit offset and valid ranges above it: ascending, disjoint, non-adjacent, non-empty. */
const doneRanges = fc
  .record({
    commit: fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: 1n << 61n })),
    steps: fc.array(fc.tuple(step, step), { maxLength: 60 }),
  })
  .map(({ commit, steps }) => {
    const ranges: OffsetRange[] = []
    let cursor = commit + 1n
    for (const [gap, extra] of steps) {
      const from = cursor + gap
      const to = from + extra + 1n
      ranges.push([from, to])
      cursor = to + 1n
    }
    return { commit, ranges }
  })

/** Asserts what any decoded result must be, whatever the input. */
function assertValid(commit: bigint, ranges: readonly OffsetRange[]): void {
  let floor = commit + 1n
  for (const [from, to] of ranges) {
    assert.equal(typeof from, 'bigint')
    assert.ok(from >= floor, `range [${from}, ${to}) starts at or above ${floor}`)
    assert.ok(to > from, `range [${from}, ${to}) is not empty`)
    assert.ok(to <= INT64_MAX, `range [${from}, ${to}) fits an int64`)
    floor = to + 1n
  }
}

const base64urlChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')

/** Strings that get past the marker check, so decoding reaches the base64 and varint parsing. */
const markedStrings = fc.oneof(
  fc.string().map((s) => MARKER + s),
  fc.array(base64urlChar, { maxLength: 80 }).map((cs) => MARKER + cs.join('')),
  fc.uint8Array({ maxLength: 60 }).map((b) => MARKER + Buffer.from(b).toString('base64url')),
)

describe('done ranges in commit metadata', () => {
  it('round trip: decoding for the same commit offset gives back the ranges', () => {
    fc.assert(
      fc.property(doneRanges, ({ commit, ranges }) => {
        assert.deepEqual(decodeDoneRanges(commit, encodeDoneRanges(commit, ranges, UNLIMITED)), ranges)
      }),
    )
  })

  it('truncation keeps the longest prefix of whole ranges that fits in maxBytes', () => {
    fc.assert(
      fc.property(doneRanges, fc.integer({ min: 0, max: 400 }), ({ commit, ranges }, maxBytes) => {
        const encoded = encodeDoneRanges(commit, ranges, maxBytes)
        assert.ok(Buffer.byteLength(encoded, 'utf8') <= maxBytes, `${Buffer.byteLength(encoded)} bytes <= ${maxBytes}`)
        const kept = decodeDoneRanges(commit, encoded)
        assert.deepEqual(kept, ranges.slice(0, kept.length), 'a prefix of the input')
        if (kept.length < ranges.length) {
          const oneMore = encodeDoneRanges(commit, ranges.slice(0, kept.length + 1), UNLIMITED)
          assert.ok(Buffer.byteLength(oneMore) > maxBytes, 'the next range would not have fitted')
        }
      }),
    )
  })

  it('the default limit keeps the encoding within 3072 bytes, whatever the number of ranges', () => {
    const ranges: OffsetRange[] = Array.from({ length: 5000 }, (_, i) => [BigInt(10 + 3 * i), BigInt(11 + 3 * i)])
    const encoded = encodeDoneRanges(5n, ranges)
    assert.ok(encoded.length > 3000 && encoded.length <= 3072, `length ${encoded.length}`)
    const kept = decodeDoneRanges(5n, encoded)
    assert.ok(kept.length > 1000)
    assert.deepEqual(kept, ranges.slice(0, kept.length))
  })

  it('decoding arbitrary strings never throws and yields only valid ranges above the commit offset', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 62n }), fc.oneof(fc.string(), fc.string({ unit: 'binary' }), markedStrings), (commit, metadata) => {
        assertValid(commit, decodeDoneRanges(commit, metadata))
      }),
      { numRuns: 2000 },
    )
  })

  it('decoding a valid encoding with one character changed never throws and yields valid ranges', () => {
    fc.assert(
      fc.property(doneRanges, fc.nat(), base64urlChar, ({ commit, ranges }, where, char) => {
        const encoded = encodeDoneRanges(commit, ranges, UNLIMITED)
        if (encoded === '') return
        const at = MARKER.length + (where % (encoded.length - MARKER.length))
        assertValid(commit, decodeDoneRanges(commit, encoded.slice(0, at) + char + encoded.slice(at + 1)))
      }),
    )
  })

  it('metadata of other writers decodes to nothing', () => {
    for (const foreign of [null, '', 'some-app-metadata', '{"done":[[1,2]]}', JSON.stringify({ commit: 5, ranges: [[6, 7]] }), 'baton.done.2:ZAABBgA', 'baton.done.1']) {
      assert.deepEqual(decodeDoneRanges(100n, foreign), [], String(foreign))
    }
  })

  it('metadata written for another commit offset never yields a range at or below the given one', () => {
    fc.assert(
      fc.property(doneRanges, fc.bigInt({ min: 0n, max: 1n << 62n }), ({ commit, ranges }, other) => {
        const decoded = decodeDoneRanges(other, encodeDoneRanges(commit, ranges, UNLIMITED))
        assert.ok(decoded.every(([from]) => from > other))
        // Stronger, and what guards against skipping records: it is not read at all.
        if (other !== commit) assert.deepEqual(decoded, [])
      }),
    )
  })

  it('examples: the layout is stable, and malformed payloads decode to nothing', () => {
    // 100 | gap 0, length 2 | cursor 104: gap 6, length 1 → varints 100, 0, 1, 6, 0.
    const encoded = encodeDoneRanges(100n, [[101n, 103n], [110n, 111n]])
    assert.equal(encoded, 'baton.done.1:ZAABBgA')
    assert.deepEqual(decodeDoneRanges(100n, encoded), [[101n, 103n], [110n, 111n]])
    assert.equal(encodeDoneRanges(100n, []), '')
    assert.equal(encodeDoneRanges(100n, [[101n, 103n]], MARKER.length + 3), '', 'too small for even one range')
    assert.equal(encodeDoneRanges(100n, [[101n, 103n]], MARKER.length + 4), 'baton.done.1:ZAAB')
    // Offsets next to int64's maximum still round-trip.
    const top: OffsetRange[] = [[INT64_MAX - 10n, INT64_MAX]]
    assert.deepEqual(decodeDoneRanges(INT64_MAX - 20n, encodeDoneRanges(INT64_MAX - 20n, top)), top)

    const bytes = (...b: number[]): string => MARKER + Buffer.from(b).toString('base64url')
    assert.deepEqual(decodeDoneRanges(100n, bytes(100, 0, 1, 6, 0)), [[101n, 103n], [110n, 111n]], 'the same bytes, spelled by hand')
    assert.deepEqual(decodeDoneRanges(100n, bytes(100, 0, 1, 6)), [], 'a gap without its length')
    assert.deepEqual(decodeDoneRanges(100n, bytes(100, 0, 0x81)), [], 'a varint cut short')
    assert.deepEqual(decodeDoneRanges(100n, bytes(0xe4, 0x00, 0, 1)), [], 'the commit offset in a longer form than needed')
    assert.deepEqual(decodeDoneRanges(0n, bytes(0, ...Array<number>(9).fill(0xff), 1, 0)), [], 'a varint beyond 63 bits')
    assert.deepEqual(decodeDoneRanges(0n, bytes(0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 5)), [], 'a range ending past int64')
    assert.deepEqual(decodeDoneRanges(100n, `${encoded}=`), [], 'padding')
    assert.deepEqual(decodeDoneRanges(100n, 'baton.done.1:ZAABBgB'), [], 'stray bits in the last character')
    assert.deepEqual(decodeDoneRanges(100n, 'baton.done.1:ZAAB Bg'), [], 'characters outside base64url')
  })

  it('encoding refuses ranges a correct caller cannot produce', () => {
    const bad: [string, bigint, OffsetRange[]][] = [
      ['at the commit offset', 100n, [[100n, 102n]]],
      ['below the commit offset', 100n, [[50n, 60n]]],
      ['empty', 100n, [[105n, 105n]]],
      ['reversed', 100n, [[106n, 105n]]],
      ['overlapping', 100n, [[101n, 105n], [104n, 108n]]],
      ['adjacent (should have been merged)', 100n, [[101n, 105n], [105n, 108n]]],
      ['descending', 100n, [[110n, 112n], [101n, 105n]]],
      ['past int64', 100n, [[101n, INT64_MAX + 1n]]],
      ['negative commit offset', -1n, [[1n, 2n]]],
    ]
    for (const [what, commit, ranges] of bad) assert.throws(() => encodeDoneRanges(commit, ranges), RangeError, what)
    // A bad range after the limit is still reported: truncation must not hide a caller's bug.
    assert.throws(() => encodeDoneRanges(0n, [[1n, 2n], [2n, 3n]], 0), RangeError)
    assert.throws(() => encodeDoneRanges(0n, [[1n, 2n]], -1), RangeError)
    assert.throws(() => encodeDoneRanges(0n, [[1n, 2n]], 1.5), RangeError)
  })
})
