/**
 * A segment backed by two files, named like Kafka's after the segment's base offset:
 * `00000000000000000042.log` holds the batches back to back, `.index` holds a sparse offset index
 * (relative offset int32, position int32) with an entry every INDEX_INTERVAL_BYTES, as Kafka's
 * index.interval.bytes.
 *
 * I/O is synchronous: a write returns once the bytes are in the operating system's page cache, so a
 * produce acknowledged with acks=-1 survives the process dying; surviving a power loss needs the
 * broker's `fsync` option. Recovery re-reads every batch and checks its CRC, so the index is rebuilt
 * from the log and never trusted over it.
 */
import { closeSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { DecodeError } from '../../protocol/errors/base.js'
import { readVerifiedBatch, type RecordBatchHeader } from './batches.js'
import { EntryTable, type BatchEntry, type Segment } from './segment.js'

const INDEX_INTERVAL_BYTES = 4096
const INDEX_ENTRY_BYTES = 8

export function segmentFileName(baseOffset: number, suffix: '.log' | '.index'): string {
  return `${String(baseOffset).padStart(20, '0')}${suffix}`
}

/** What recovery found wrong at the end of a segment file, if anything. */
export interface TornTail {
  /** Bytes kept: everything before the first bad batch. */
  readonly validBytes: number
  readonly droppedBytes: number
  readonly reason: string
}

export class FileSegment implements Segment {
  readonly baseOffset: number
  readonly createdAt: number
  private readonly logPath: string
  private readonly indexPath: string
  private readonly table: EntryTable
  private logFd: number
  private indexFd: number
  private indexBytes = 0
  private bytesSinceIndexEntry = 0

  private constructor(dir: string, baseOffset: number, now: number) {
    this.baseOffset = baseOffset
    this.createdAt = now
    this.logPath = join(dir, segmentFileName(baseOffset, '.log'))
    this.indexPath = join(dir, segmentFileName(baseOffset, '.index'))
    this.table = new EntryTable(now)
    this.logFd = openSync(this.logPath, 'a+')
    this.indexFd = openSync(this.indexPath, 'w+')
  }

  /** A new, empty segment (any files of that name are replaced). */
  static create(dir: string, baseOffset: number, now: number): FileSegment {
    const segment = new FileSegment(dir, baseOffset, now)
    ftruncateSync(segment.logFd, 0)
    return segment
  }

  /**
   * Opens an existing segment: reads every batch, checks framing, magic, CRC and that offsets only
   * grow, and cuts the file at the first batch that fails (a write torn by a crash). `onBatch` sees
   * every batch kept, in order, so callers can rebuild state such as producer sequences.
   */
  static recover(
    dir: string,
    baseOffset: number,
    now: number,
    onBatch: (header: RecordBatchHeader, batch: Buffer) => void,
  ): { segment: FileSegment; tornTail: TornTail | null } {
    const segment = new FileSegment(dir, baseOffset, now)
    const bytes = readFileSync(segment.logPath)
    let position = 0
    let nextOffset = baseOffset
    let tornTail: TornTail | null = null
    while (position < bytes.length) {
      let header: RecordBatchHeader
      let end: number
      try {
        ;({ header, end } = readVerifiedBatch(bytes, position))
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error
        tornTail = { validBytes: position, droppedBytes: bytes.length - position, reason: error.message }
        break
      }
      const batchBase = Number(header.baseOffset)
      if (batchBase < nextOffset) {
        tornTail = { validBytes: position, droppedBytes: bytes.length - position, reason: `batch at offset ${batchBase} follows offset ${nextOffset - 1}` }
        break
      }
      segment.record(batchBase, Number(header.lastOffset), end - position, header.maxTimestamp)
      onBatch(header, bytes.subarray(position, end))
      nextOffset = Number(header.lastOffset) + 1
      position = end
    }
    if (tornTail !== null) ftruncateSync(segment.logFd, tornTail.validBytes)
    return { segment, tornTail }
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
    let written = 0
    while (written < batch.length) written += writeSync(this.logFd, batch, written, batch.length - written, this.table.size + written)
    this.record(baseOffset, lastOffset, batch.length, maxTimestamp)
  }

  read(position: number, length: number): Buffer {
    const buffer = Buffer.allocUnsafe(length)
    let done = 0
    while (done < length) {
      const n = readSync(this.logFd, buffer, done, length - done, position + done)
      if (n === 0) throw new DecodeError('DECODE_TRUNCATED', `${this.logPath} ends before byte ${position + length}`)
      done += n
    }
    return buffer
  }

  sync(): void {
    fsyncSync(this.logFd)
  }

  close(): void {
    if (this.logFd < 0) return
    closeSync(this.logFd)
    closeSync(this.indexFd)
    this.logFd = -1
    this.indexFd = -1
  }

  remove(): void {
    this.close()
    rmSync(this.logPath, { force: true })
    rmSync(this.indexPath, { force: true })
  }

  private record(baseOffset: number, lastOffset: number, size: number, maxTimestamp: number): void {
    const entry = this.table.add(baseOffset, lastOffset, size, maxTimestamp)
    // The first batch always gets an entry, then one per interval, as in Kafka's sparse index.
    if (this.table.entries.length > 1 && this.bytesSinceIndexEntry < INDEX_INTERVAL_BYTES) {
      this.bytesSinceIndexEntry += size
      return
    }
    const indexEntry = Buffer.allocUnsafe(INDEX_ENTRY_BYTES)
    indexEntry.writeInt32BE(entry.baseOffset - this.baseOffset, 0)
    indexEntry.writeInt32BE(entry.position, 4)
    writeSync(this.indexFd, indexEntry, 0, INDEX_ENTRY_BYTES, this.indexBytes)
    this.indexBytes += INDEX_ENTRY_BYTES
    this.bytesSinceIndexEntry = size
  }
}
