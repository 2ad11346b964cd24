/**
 * The outputs of finished records in transactional mode, held until a transaction commits them
 * together with the input offsets that cover them.
 *
 * A record's outputs may be committed only by a transaction whose offsets say the record is done:
 * its offset is below the committed offset, or (key mode, records finishing out of order) it is
 * among the done ranges the commit's metadata carries for the next owner (`../offset-metadata.ts`).
 * A done record above the committed offset that the metadata does not name (the metadata is
 * bounded) would run again on the next owner after a crash; committing its outputs now would then
 * write them twice. Such outputs stay held until a later commit covers them.
 *
 * Outputs are handed out in input offset order per partition, so that the outputs of one key keep
 * the order of its input records however the key lane interleaved the keys.
 */
import { partitionKey } from '../../client/index.js'
import type { OffsetToCommit, ProducedRecord, TopicPartition } from '../consumer-port.js'
import { decodeDoneRanges, type OffsetRange } from '../offset-metadata.js'

/** One finished job: its input offsets (ascending; more than one for a batch handler) and what it produced. */
export interface HeldWork {
  readonly offsets: readonly bigint[]
  readonly outputs: readonly ProducedRecord[]
}

/** What a commit of some offsets carries: the outputs, in order, and the works they came from. */
export interface CoveredOutputs {
  readonly outputs: readonly ProducedRecord[]
  readonly works: ReadonlySet<HeldWork>
  /** Input records whose outputs go in this commit. */
  readonly records: number
}

/** A held work and when it finished. */
interface Entry {
  readonly work: HeldWork
  readonly at: number
}

export class HeldOutputs {
  private readonly byPartition = new Map<string, Entry[]>()
  private heldRecords = 0
  /** `performance.now()` when the oldest work still held finished; undefined when none is held. */
  private oldest: number | undefined

  /** Input records held (finished, not yet committed). */
  get records(): number {
    return this.heldRecords
  }

  /** When the oldest held record finished (`performance.now()`), or undefined. */
  get oldestAt(): number | undefined {
    return this.oldest
  }

  add(tp: TopicPartition, work: HeldWork, now = performance.now()): void {
    const key = partitionKey(tp)
    const entries = this.byPartition.get(key)
    if (entries === undefined) this.byPartition.set(key, [{ work, at: now }])
    else entries.push({ work, at: now })
    this.heldRecords += work.offsets.length
    this.oldest ??= now
  }

  /**
   * The held works that a commit of `offsets` covers, and their outputs in input offset order per
   * partition. Nothing is removed: `release` does that once the transaction has committed.
   */
  covered(offsets: readonly OffsetToCommit[]): CoveredOutputs {
    const outputs: ProducedRecord[] = []
    const works = new Set<HeldWork>()
    let records = 0
    for (const commit of offsets) {
      const held = this.byPartition.get(partitionKey(commit))
      if (held === undefined) continue
      const ranges = decodeDoneRanges(commit.offset, commit.metadata ?? null)
      const taken = held.map((entry) => entry.work).filter((work) => work.offsets.every((offset) => offset < commit.offset || inRanges(offset, ranges)))
      taken.sort((a, b) => compare(a.offsets[0] as bigint, b.offsets[0] as bigint))
      for (const work of taken) {
        works.add(work)
        records += work.offsets.length
        for (const output of work.outputs) outputs.push(output)
      }
    }
    return { outputs, works, records }
  }

  /** The works of a committed transaction are written: forget them. */
  release(works: ReadonlySet<HeldWork>): void {
    if (works.size === 0) return
    for (const [key, held] of this.byPartition) {
      const kept = held.filter((entry) => !works.has(entry.work))
      if (kept.length === held.length) continue
      if (kept.length === 0) this.byPartition.delete(key)
      else this.byPartition.set(key, kept)
    }
    this.recount()
  }

  /** Partitions this member no longer owns (lost), or owns afresh (their records will run again): their outputs go. */
  drop(partitions: readonly TopicPartition[]): void {
    let dropped = false
    for (const tp of partitions) dropped = this.byPartition.delete(partitionKey(tp)) || dropped
    if (dropped) this.recount()
  }

  private recount(): void {
    let records = 0
    let oldest: number | undefined
    for (const held of this.byPartition.values()) {
      for (const entry of held) {
        records += entry.work.offsets.length
        if (oldest === undefined || entry.at < oldest) oldest = entry.at
      }
    }
    this.heldRecords = records
    this.oldest = oldest
  }
}

function inRanges(offset: bigint, ranges: readonly OffsetRange[]): boolean {
  for (const [from, to] of ranges) {
    if (offset < from) return false
    if (offset < to) return true
  }
  return false
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0
}
