/**
 * Which offset of one partition is safe to commit.
 *
 * Records are registered a fetched batch at a time, as they are received (queued ones count as
 * unfinished, not only running ones), and marked done as their handlers succeed, in any order. The
 * committable offset is the lowest received offset not yet done; when everything received is done
 * it is the fetch position: the offset after the last record, or the `nextOffset` a fetch reported.
 *
 * Gaps: offsets the fetcher never delivers (compacted away, transaction markers, aborted records)
 * are never registered, so they cannot hold the committable offset back. Committing an offset that
 * falls inside a gap is harmless: the next owner's fetch starts there and skips it in turn.
 *
 * The tracker keeps the fetched arrays themselves, not a copy per record: receiving a batch costs
 * the same whatever its size, and completing records in offset order (partition mode, nearly
 * always) is one comparison and an increment. Done flags are allocated for a batch only once one
 * of its records finishes out of order (key mode).
 */
import { OffsetTrackingError } from './errors.js'
import type { OffsetRange } from './offset-metadata.js'

export interface TrackedRecord {
  readonly offset: bigint
}

interface Segment {
  readonly records: readonly TrackedRecord[]
  /** Index of the first record not done; every record before it is done. */
  next: number
  /** Out-of-order completions at or after `next`, allocated on the first one. */
  done: Uint8Array | undefined
}

/** Segments before `head` are finished; the array is compacted once this many have piled up. */
const COMPACT_AFTER = 64

export class OffsetTracker {
  private segments: Segment[] = []
  private head = 0
  /**
   * The fetch position is the larger of `lastReceived + 1` and `advancedTo`, kept in two parts so
   * that the sum is only computed when asked for.
   */
  private lastReceived: bigint | undefined
  private advancedTo: bigint | undefined
  private unfinished = 0

  /**
   * Registers a fetched batch (records in increasing offset order) and the fetch position after it.
   * Returns the records registered: the batch itself, or its tail when a refetch delivered records
   * below the fetch position again (those are already known and are left out).
   */
  receive<R extends TrackedRecord>(records: readonly R[], nextOffset?: bigint): readonly R[] {
    let first = 0
    if (this.lastReceived !== undefined || this.advancedTo !== undefined) {
      while (first < records.length && this.isBelowPosition((records[first] as R).offset)) first++
    }
    // Segments never overlap: the binary searches and `doneAbove` rely on it.
    const kept = first === 0 ? records : records.slice(first)
    if (kept.length > 0) {
      this.segments.push({ records: kept, next: 0, done: undefined })
      this.unfinished += kept.length
      this.lastReceived = (kept[kept.length - 1] as R).offset
    }
    if (nextOffset !== undefined) this.advanceTo(nextOffset)
    return kept
  }

  /** The fetcher's position moved to `nextOffset` (past offsets that carry no data record). */
  advanceTo(nextOffset: bigint): void {
    // Only the larger of the two parts counts, so a smaller `nextOffset` changes nothing.
    if (this.advancedTo === undefined || nextOffset > this.advancedTo) this.advancedTo = nextOffset
  }

  /** The record at `offset` was processed. Throws `OffsetTrackingError` if it is not awaiting completion. */
  markDone(offset: bigint): void {
    const segment = this.segments[this.head]
    // The common case: the oldest unfinished record finishes, and nothing after it had finished early.
    if (segment !== undefined && segment.done === undefined && segment.records[segment.next]?.offset === offset) {
      this.unfinished--
      if (++segment.next === segment.records.length) this.dropFinished()
      return
    }
    this.markDoneOutOfOrder(offset)
  }

  /** The offset to commit (the next one to consume), or undefined before anything was fetched. */
  committable(): bigint | undefined {
    const segment = this.segments[this.head]
    return segment === undefined ? this.position() : (segment.records[segment.next] as TrackedRecord).offset
  }

  /** How many received records are not done (queued or running). */
  get pending(): number {
    return this.unfinished
  }

  /**
   * The records done above the committable offset, as ranges: what a commit can carry in its
   * metadata so that the partition's next owner skips them. A range spans the offsets between two
   * done records that carry no data record (they were never delivered), never a received record
   * that is not done.
   */
  doneAbove(): OffsetRange[] {
    const ranges: OffsetRange[] = []
    let from: bigint | undefined
    let last = 0n
    for (let s = this.head; s < this.segments.length; s++) {
      const { records, next, done } = this.segments[s] as Segment
      // Before `next` everything is done; the head segment's `next` is the commit point itself.
      for (let i = s === this.head ? next : 0; i < records.length; i++) {
        const offset = (records[i] as TrackedRecord).offset
        if (i < next || done?.[i] === 1) {
          from ??= offset
          last = offset
        } else if (from !== undefined) {
          ranges.push([from, last + 1n])
          from = undefined
        }
      }
    }
    if (from !== undefined) ranges.push([from, last + 1n])
    return ranges
  }

  private markDoneOutOfOrder(offset: bigint): void {
    const s = this.segmentOf(offset)
    const segment = s < 0 ? undefined : (this.segments[s] as Segment)
    const index = segment === undefined ? -1 : indexOf(segment.records, offset, segment.next)
    if (segment === undefined || index < 0 || segment.done?.[index] === 1) {
      throw new OffsetTrackingError(`offset ${offset} is not awaiting completion: it was never received, or it was already marked done`)
    }
    this.unfinished--
    if (index === segment.next) segment.next++
    else (segment.done ??= new Uint8Array(segment.records.length))[index] = 1
    while (segment.next < segment.records.length && segment.done?.[segment.next] === 1) segment.next++
    if (s === this.head && segment.next === segment.records.length) this.dropFinished()
  }

  /** Drops finished segments from the front, so that the head is always the first unfinished one. */
  private dropFinished(): void {
    while (this.head < this.segments.length) {
      const segment = this.segments[this.head] as Segment
      if (segment.next < segment.records.length) break
      this.head++
    }
    if (this.head === this.segments.length) {
      this.segments = []
      this.head = 0
    } else if (this.head >= COMPACT_AFTER) {
      this.segments = this.segments.slice(this.head)
      this.head = 0
    }
  }

  /** The index of the segment whose records span `offset`, or -1. */
  private segmentOf(offset: bigint): number {
    let low = this.head
    let high = this.segments.length - 1
    while (low <= high) {
      const middle = (low + high) >>> 1
      const { records } = this.segments[middle] as Segment
      if (offset < (records[0] as TrackedRecord).offset) high = middle - 1
      else if (offset > (records[records.length - 1] as TrackedRecord).offset) low = middle + 1
      else return middle
    }
    return -1
  }

  private isBelowPosition(offset: bigint): boolean {
    return (this.lastReceived !== undefined && offset <= this.lastReceived) || (this.advancedTo !== undefined && offset < this.advancedTo)
  }

  private position(): bigint | undefined {
    if (this.lastReceived === undefined) return this.advancedTo
    const afterLast = this.lastReceived + 1n
    return this.advancedTo !== undefined && this.advancedTo > afterLast ? this.advancedTo : afterLast
  }
}

/** Binary search for `offset` among `records[from..]`; -1 when absent. */
function indexOf(records: readonly TrackedRecord[], offset: bigint, from: number): number {
  let low = from
  let high = records.length - 1
  while (low <= high) {
    const middle = (low + high) >>> 1
    const value = (records[middle] as TrackedRecord).offset
    if (value === offset) return middle
    if (value < offset) low = middle + 1
    else high = middle - 1
  }
  return -1
}
