/**
 * Which offset of one partition is safe to commit.
 *
 * Records are registered as they are received from the fetcher (queued ones count as unfinished,
 * not only running ones) and marked done as their handlers succeed, in any order. The committable
 * offset is the lowest received offset not yet done; when everything received is done it is the
 * fetch position, the offset after the last record or the `nextOffset` a fetch reported.
 *
 * Gaps: offsets the fetcher never delivers (compacted away, transaction markers, aborted records)
 * are never registered, so they cannot hold the committable offset back. Committing an offset that
 * falls inside a gap is harmless: the next owner's fetch starts there and skips it in turn.
 */
import { OffsetTrackingError } from './errors.js'

/** Entries before `head` are done; compact once this many have piled up. */
const COMPACT_AFTER = 1024

export class OffsetTracker {
  // Received offsets in increasing order, with a parallel done flag; a deque through `head`.
  private offsets: bigint[] = []
  private done: boolean[] = []
  private head = 0
  /**
   * The fetch position is the larger of `lastReceived + 1` and `advancedTo`, kept in two parts so
   * that receiving a record, once per record, does not allocate a bigint for the sum.
   */
  private lastReceived: bigint | undefined
  private advancedTo: bigint | undefined
  private unfinished = 0

  /**
   * Registers a fetched record. Returns false, registering nothing, for an offset below the fetch
   * position: a record delivered again by a refetch, already known.
   */
  receive(offset: bigint): boolean {
    if ((this.lastReceived !== undefined && offset <= this.lastReceived) || (this.advancedTo !== undefined && offset < this.advancedTo)) return false
    this.offsets.push(offset)
    this.done.push(false)
    this.unfinished++
    this.lastReceived = offset
    return true
  }

  /** The fetcher's position moved to `nextOffset` (past offsets that carry no data record). */
  advanceTo(nextOffset: bigint): void {
    // Only the larger of the two parts counts, so a smaller `nextOffset` changes nothing, as before.
    if (this.advancedTo === undefined || nextOffset > this.advancedTo) this.advancedTo = nextOffset
  }

  /** The record at `offset` was processed. Throws `OffsetTrackingError` if it was never received or is already done. */
  markDone(offset: bigint): void {
    const index = this.indexOf(offset)
    if (index < 0) throw new OffsetTrackingError(`offset ${offset} was never received or was already committed past`)
    if (this.done[index] === true) throw new OffsetTrackingError(`offset ${offset} was marked done twice`)
    this.done[index] = true
    this.unfinished--
    if (index === this.head) this.advanceHead()
  }

  /** The offset to commit (the next one to consume), or undefined before anything was fetched. */
  committable(): bigint | undefined {
    return this.head < this.offsets.length ? this.offsets[this.head] : this.position()
  }

  private position(): bigint | undefined {
    if (this.lastReceived === undefined) return this.advancedTo
    const afterLast = this.lastReceived + 1n
    return this.advancedTo !== undefined && this.advancedTo > afterLast ? this.advancedTo : afterLast
  }

  /** How many received records are not done (queued or running). */
  get pending(): number {
    return this.unfinished
  }

  private advanceHead(): void {
    while (this.head < this.offsets.length && this.done[this.head] === true) this.head++
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.offsets.length) {
      this.offsets = this.offsets.slice(this.head)
      this.done = this.done.slice(this.head)
      this.head = 0
    }
  }

  private indexOf(offset: bigint): number {
    // In order mode the record finishing is nearly always the oldest one.
    if (this.offsets[this.head] === offset) return this.head
    let low = this.head
    let high = this.offsets.length - 1
    while (low <= high) {
      const middle = (low + high) >>> 1
      const value = this.offsets[middle]
      if (value === undefined) break
      if (value === offset) return middle
      if (value < offset) low = middle + 1
      else high = middle - 1
    }
    return -1
  }
}
