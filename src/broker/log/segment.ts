/**
 * A segment holds a contiguous run of record batches of one partition, starting at `baseOffset`.
 * The partition log only ever appends to its last segment and deletes whole segments from the front,
 * so one interface serves both the in-memory store (`--memory`) and segment files (`--data`).
 *
 * Every segment keeps a table of its batches (offsets, position, size, max timestamp) in memory: it
 * is the offset index that fetches and ListOffsets search, rebuilt from the bytes on recovery.
 * Offsets are JavaScript numbers inside the broker, exact up to 2^53.
 */

export interface BatchEntry {
  readonly baseOffset: number
  readonly lastOffset: number
  /** Byte position of the batch in its segment. */
  readonly position: number
  readonly size: number
  readonly maxTimestamp: number
}

export interface Segment {
  readonly baseOffset: number
  /** Bytes of batches in the segment. */
  readonly size: number
  readonly entries: readonly BatchEntry[]
  /** When the segment was opened for appends; drives segment.ms rolling. */
  readonly createdAt: number
  /** Largest batch timestamp, or the creation time for an empty segment; drives retention.ms. */
  readonly largestTimestamp: number
  /** Appends one batch whose offsets are already assigned. */
  append(batch: Buffer, baseOffset: number, lastOffset: number, maxTimestamp: number): void
  /** Bytes [position, position + length), which must lie within the segment. */
  read(position: number, length: number): Buffer
  /** Makes appended bytes durable (fsync); a no-op in memory. */
  sync(): void
  close(): void
  /** Closes the segment and deletes what backs it. */
  remove(): void
  /**
   * Keeps only the first `count` batches. Only for fault injection (a truncated log, as after an
   * unclean leader election); absent where the storage does not support it.
   */
  truncateTo?(count: number): void
}

/** Appends the entry and keeps the segment's derived fields; shared by both implementations. */
export class EntryTable {
  readonly entries: BatchEntry[] = []
  size = 0
  largestTimestamp: number
  private sawTimestamp = false

  constructor(createdAt: number) {
    this.largestTimestamp = createdAt
  }

  /** Drops the entries from `count` on; the largest timestamp is recomputed from those kept. */
  truncateTo(count: number): void {
    this.entries.length = Math.min(count, this.entries.length)
    const last = this.entries[this.entries.length - 1]
    this.size = last === undefined ? 0 : last.position + last.size
    let largest = -1
    for (const entry of this.entries) largest = Math.max(largest, entry.maxTimestamp)
    if (largest >= 0) this.largestTimestamp = largest
  }

  add(baseOffset: number, lastOffset: number, size: number, maxTimestamp: number): BatchEntry {
    const entry: BatchEntry = { baseOffset, lastOffset, position: this.size, size, maxTimestamp }
    this.entries.push(entry)
    this.size += size
    // Retention goes by the batches' own clock, as Kafka's does; batches without a timestamp (-1)
    // leave the segment's creation time in charge.
    if (maxTimestamp >= 0 && (!this.sawTimestamp || maxTimestamp > this.largestTimestamp)) {
      this.largestTimestamp = maxTimestamp
      this.sawTimestamp = true
    }
    return entry
  }
}

export class MemorySegment implements Segment {
  readonly baseOffset: number
  readonly createdAt: number
  private readonly table: EntryTable
  private readonly chunks: Buffer[] = []

  constructor(baseOffset: number, now: number) {
    this.baseOffset = baseOffset
    this.createdAt = now
    this.table = new EntryTable(now)
  }

  get size(): number {
    return this.table.size
  }

  get entries(): readonly BatchEntry[] {
    return this.table.entries
  }

  get largestTimestamp(): number {
    return this.table.largestTimestamp
  }

  append(batch: Buffer, baseOffset: number, lastOffset: number, maxTimestamp: number): void {
    // A copy, so the log does not pin the whole request frame the batch arrived in.
    this.chunks.push(Buffer.from(batch))
    this.table.add(baseOffset, lastOffset, batch.length, maxTimestamp)
  }

  read(position: number, length: number): Buffer {
    // Reads always start and end on batch boundaries, so whole chunks are joined.
    const first = findEntryAtPosition(this.table.entries, position)
    const parts: Buffer[] = []
    let taken = 0
    for (let i = first; i < this.chunks.length && taken < length; i++) {
      const chunk = this.chunks[i]!
      parts.push(chunk)
      taken += chunk.length
    }
    const joined = parts.length === 1 ? parts[0]! : Buffer.concat(parts, taken)
    return joined.length === length ? joined : joined.subarray(0, length)
  }

  truncateTo(count: number): void {
    this.chunks.length = Math.min(count, this.chunks.length)
    this.table.truncateTo(count)
  }

  sync(): void {}

  close(): void {}

  remove(): void {
    this.chunks.length = 0
  }
}

/** Index of the entry starting at `position` (binary search). */
export function findEntryAtPosition(entries: readonly BatchEntry[], position: number): number {
  let low = 0
  let high = entries.length - 1
  while (low < high) {
    const mid = (low + high + 1) >>> 1
    if (entries[mid]!.position <= position) low = mid
    else high = mid - 1
  }
  return low
}

/** Index of the first entry whose lastOffset is >= offset, or entries.length if none. */
export function findEntryForOffset(entries: readonly BatchEntry[], offset: number): number {
  let low = 0
  let high = entries.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if (entries[mid]!.lastOffset < offset) low = mid + 1
    else high = mid
  }
  return low
}
