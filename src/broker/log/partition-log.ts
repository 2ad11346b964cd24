/**
 * One partition's log: an ordered list of segments, appended at the end, trimmed at the front by
 * retention and DeleteRecords. It knows nothing about producers or the protocol; the partition
 * module decides what may be appended and the handlers turn results into responses.
 *
 * Offsets: logStartOffset is the first offset a consumer may read (DeleteRecords can move it inside
 * a segment, as in Kafka), logEndOffset the offset the next batch gets. With every replica in this
 * process, the high watermark is the log end offset. The last stable offset belongs to the
 * partition's transaction state (transactions/partition-state.ts), which bounds read_committed reads.
 */
import { findEntryForOffset, type Segment } from './segment.js'

export interface LogConfig {
  /** segment.bytes: roll to a new segment once the active one reaches this size. */
  segmentBytes: number
  /** segment.ms: roll once the active segment is this old (and not empty). */
  segmentMs: number
  /** retention.bytes: delete old segments while the log stays above this; -1 keeps everything. */
  retentionBytes: number
  /** retention.ms: delete segments whose newest batch is older; -1 keeps everything. */
  retentionMs: number
}

/** Where segments come from and where the log start offset is kept: memory or a directory. */
export interface PartitionStore {
  createSegment(baseOffset: number, now: number): Segment
  saveLogStartOffset(offset: number): void
  /** Deletes everything the partition stored (topic deletion). */
  removeAll(): void
}

export class PartitionLog {
  private readonly segments: Segment[]
  private readonly store: PartitionStore
  private readonly config: () => LogConfig
  private readonly appendListeners = new Set<() => void>()
  private startOffset: number
  private endOffset: number

  constructor(store: PartitionStore, segments: Segment[], config: () => LogConfig, savedStartOffset: number, now: number) {
    this.store = store
    this.config = config
    this.segments = segments.length > 0 ? segments : [store.createSegment(Math.max(0, savedStartOffset), now)]
    const last = this.active
    const lastEntry = last.entries[last.entries.length - 1]
    this.endOffset = lastEntry === undefined ? last.baseOffset : lastEntry.lastOffset + 1
    this.startOffset = Math.min(Math.max(this.segments[0]!.baseOffset, savedStartOffset), this.endOffset)
  }

  get logStartOffset(): number {
    return this.startOffset
  }

  get logEndOffset(): number {
    return this.endOffset
  }

  get highWatermark(): number {
    return this.endOffset
  }

  get sizeInBytes(): number {
    let total = 0
    for (const segment of this.segments) total += segment.size
    return total
  }

  get segmentCount(): number {
    return this.segments.length
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!
  }

  /**
   * Appends a batch whose offsets the caller has already written (base = logEndOffset). Rolls to a
   * new segment first when the active one is full or old, then wakes waiting fetches.
   */
  append(batch: Buffer, recordSpan: number, maxTimestamp: number, now: number): void {
    const config = this.config()
    const active = this.active
    if (active.size > 0 && (active.size + batch.length > config.segmentBytes || now - active.createdAt >= config.segmentMs)) {
      this.segments.push(this.store.createSegment(this.endOffset, now))
    }
    const baseOffset = this.endOffset
    this.active.append(batch, baseOffset, baseOffset + recordSpan - 1, maxTimestamp)
    this.endOffset = baseOffset + recordSpan
    for (const listener of [...this.appendListeners]) listener()
  }

  /** Calls `listener` after every append until the returned function is called. */
  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener)
    return () => this.appendListeners.delete(listener)
  }

  /**
   * Whole batches from the one holding `offset`, up to `maxBytes`; with `minOneBatch` the first
   * batch is returned even if larger (KIP-74), so a consumer can always make progress. Reads stay
   * within one segment, as Kafka's do. Only batches starting below `upTo` are read (the last
   * stable offset for read_committed). Null when there is nothing at or after `offset`.
   */
  read(offset: number, maxBytes: number, minOneBatch: boolean, upTo = this.endOffset): Buffer | null {
    if (offset >= this.endOffset || offset >= upTo) return null
    const segment = this.segments[this.segmentIndexFor(offset)]!
    const entries = segment.entries
    const first = findEntryForOffset(entries, offset)
    if (first >= entries.length) return null
    const start = entries[first]!.position
    let end = start
    for (let i = first; i < entries.length; i++) {
      const entry = entries[i]!
      if (entry.baseOffset >= upTo) break
      if (end + entry.size - start > maxBytes && !(i === first && minOneBatch)) break
      end += entry.size
    }
    return end === start ? null : segment.read(start, end - start)
  }

  /**
   * Cuts the log at the batch holding `offset` (that batch goes too) and returns the new log end.
   * Fault injection only: a leader that lost its tail. In-memory segments support it.
   */
  truncateTo(offset: number): number {
    if (offset >= this.endOffset) return this.endOffset
    const target = Math.max(offset, this.startOffset)
    while (this.segments.length > 1 && this.active.baseOffset >= target) this.segments.pop()!.remove()
    const segment = this.active
    if (segment.truncateTo === undefined) throw new Error('this storage cannot truncate a log; use an in-memory broker')
    const keep = findEntryForOffset(segment.entries, target)
    segment.truncateTo(keep)
    const last = segment.entries[keep - 1]
    this.endOffset = last === undefined ? segment.baseOffset : last.lastOffset + 1
    this.startOffset = Math.min(this.startOffset, this.endOffset)
    return this.endOffset
  }

  /** Segments, oldest first, with their batch tables: the ListOffsets handler searches them. */
  forEachBatch(visit: (segment: Segment, index: number) => boolean | void): void {
    for (const segment of this.segments) {
      for (let i = 0; i < segment.entries.length; i++) {
        if (visit(segment, i) === true) return
      }
    }
  }

  /** Moves the log start offset forward (DeleteRecords); whole segments below it are deleted. */
  deleteRecordsBefore(offset: number): void {
    if (offset <= this.startOffset) return
    this.startOffset = Math.min(offset, this.endOffset)
    this.store.saveLogStartOffset(this.startOffset)
    this.dropSegmentsBelowStart()
  }

  /**
   * Applies retention.ms and retention.bytes by deleting whole segments from the front. Like Kafka,
   * an expired active segment is first rolled so it can go too; the empty new one keeps the offsets.
   */
  applyRetention(now: number): number {
    const { retentionMs, retentionBytes } = this.config()
    let deleted = 0
    if (retentionMs >= 0) {
      const active = this.active
      if (active.size > 0 && now - active.largestTimestamp > retentionMs) this.segments.push(this.store.createSegment(this.endOffset, now))
      while (this.segments.length > 1 && now - this.segments[0]!.largestTimestamp > retentionMs) {
        this.segments.shift()!.remove()
        deleted++
      }
    }
    if (retentionBytes >= 0) {
      let size = this.sizeInBytes
      while (this.segments.length > 1 && size - this.segments[0]!.size >= retentionBytes) {
        const removed = this.segments.shift()!
        size -= removed.size
        removed.remove()
        deleted++
      }
    }
    if (deleted > 0 && this.segments[0]!.baseOffset > this.startOffset) {
      this.startOffset = this.segments[0]!.baseOffset
      this.store.saveLogStartOffset(this.startOffset)
    }
    return deleted
  }

  sync(): void {
    this.active.sync()
  }

  close(): void {
    for (const segment of this.segments) segment.close()
    this.appendListeners.clear()
  }

  /** Deletes every segment and what backs them (topic deletion). */
  remove(): void {
    this.close()
    for (const segment of this.segments) segment.remove()
    this.store.removeAll()
  }

  private dropSegmentsBelowStart(): void {
    // The active segment stays even when emptied: it carries the next offset.
    while (this.segments.length > 1) {
      const next = this.segments[1]!
      if (next.baseOffset > this.startOffset) break
      this.segments.shift()!.remove()
    }
  }

  private segmentIndexFor(offset: number): number {
    let low = 0
    let high = this.segments.length - 1
    while (low < high) {
      const mid = (low + high + 1) >>> 1
      if (this.segments[mid]!.baseOffset <= offset) low = mid
      else high = mid - 1
    }
    return low
  }
}
