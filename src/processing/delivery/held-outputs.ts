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
 *
 * Records that produced nothing are only counted (per partition: how many, the end of the highest,
 * since when), not kept one by one: they have nothing to write, any commit that calls them done
 * is right for them, and they cost neither memory nor an allocation each. They count towards the
 * transaction's batch window, not towards the limit on what is held.
 */
import { partitionKey } from '../../client/index.js'
import type { AssignedPartition, OffsetToCommit, ProducedRecord, TopicPartition } from '../consumer-port.js'
import { decodeDoneRanges, DEFAULT_METADATA_BYTES, encodeDoneRanges, type OffsetRange } from '../offset-metadata.js'

/** One finished job: its input offsets (ascending; more than one for a batch handler) and what it produced. */
export interface HeldWork {
  readonly offsets: readonly bigint[]
  readonly outputs: readonly ProducedRecord[]
}

/** One transaction's share of a commit: the offsets it commits, the outputs they cover, in order, and the works they came from. */
export interface CoveredOutputs {
  readonly offsets: readonly OffsetToCommit[]
  readonly outputs: readonly ProducedRecord[]
  readonly works: ReadonlySet<HeldWork>
  /** Input records whose outputs go in this transaction. */
  readonly records: number
  /** False when the commit asked for needs more transactions after this one (more than `limit` records). */
  readonly complete: boolean
}

/** A held work and when it finished. */
interface Entry {
  readonly work: HeldWork
  readonly at: number
}

/** A partition's records done without outputs and not yet committed: how many, the end of the highest, when the oldest finished. */
interface Bare {
  count: number
  end: bigint
  readonly at: number
}

export class HeldOutputs {
  private readonly byPartition = new Map<string, Entry[]>()
  /**
   * Per partition, the done ranges above the offset the last committed transaction stored: their
   * outputs are written, so a commit cut below them must name them again, or a next owner would
   * run them (and write their outputs) a second time.
   */
  private readonly durable = new Map<string, readonly OffsetRange[]>()
  private readonly bare = new Map<string, Bare>()
  /** Each caller's partition object keeps its key: `add` runs once per record. */
  private readonly keys = new WeakMap<TopicPartition, string>()
  private heldRecords = 0
  private bareRecords = 0
  /** `performance.now()` when the oldest work still held finished; undefined when none is held. */
  private oldest: number | undefined

  /** Input records done and not yet committed, with outputs or without. */
  get records(): number {
    return this.heldRecords + this.bareRecords
  }

  /** Input records whose outputs are held in memory until a transaction takes them. */
  get recordsWithOutputs(): number {
    return this.heldRecords
  }

  /** When the oldest held record finished (`performance.now()`), or undefined. */
  get oldestAt(): number | undefined {
    return this.oldest
  }

  add(tp: TopicPartition, work: HeldWork, at?: number): void {
    const key = this.keyOf(tp)
    if (work.outputs.length === 0) {
      // Once per record: no clock reading and no allocation unless the partition had none counted.
      const end = (work.offsets[work.offsets.length - 1] as bigint) + 1n
      const bare = this.bare.get(key)
      if (bare === undefined) {
        const now = at ?? performance.now()
        this.bare.set(key, { count: work.offsets.length, end, at: now })
        this.oldest ??= now
      } else {
        bare.count += work.offsets.length
        if (end > bare.end) bare.end = end
      }
      this.bareRecords += work.offsets.length
      return
    }
    const now = at ?? performance.now()
    this.oldest ??= now
    const entries = this.byPartition.get(key)
    const entry = { work, at: now }
    if (entries === undefined) this.byPartition.set(key, [entry])
    else insertByFirstOffset(entries, entry)
    this.heldRecords += work.offsets.length
  }

  private keyOf(tp: TopicPartition): string {
    let key = this.keys.get(tp)
    if (key === undefined) {
      key = partitionKey(tp)
      this.keys.set(tp, key)
    }
    return key
  }

  /**
   * What the next transaction of a commit of `offsets` carries: the held works those offsets cover,
   * at most `limit` records of them (at least one work), and the offsets that cover exactly those.
   * When the limit cuts a partition, its offset is the first record left out: every record below
   * it is done, and its outputs are in this transaction. Works above a commit point (named in the
   * metadata) go all together with the full offset and metadata. Nothing is removed: `release`
   * does that once the transaction has committed, and the next call goes on from there.
   */
  covered(offsets: readonly OffsetToCommit[], limit = Number.POSITIVE_INFINITY): CoveredOutputs {
    const outputs: ProducedRecord[] = []
    const works = new Set<HeldWork>()
    const commits: OffsetToCommit[] = []
    let records = 0
    let complete = true
    const take = (work: HeldWork): void => {
      works.add(work)
      records += work.offsets.length
      for (const output of work.outputs) outputs.push(output)
    }
    for (const commit of offsets) {
      if (records >= limit) {
        complete = false
        continue
      }
      const ranges = decodeDoneRanges(commit.offset, commit.metadata ?? null)
      // Entries are in offset order, and every record below the commit offset is done: the works
      // below it are a prefix, walked only as far as this transaction takes them.
      const entries = this.byPartition.get(partitionKey(commit)) ?? []
      let cut: bigint | undefined
      let next = 0
      for (; next < entries.length; next++) {
        const work = (entries[next] as Entry).work
        if ((work.offsets[0] as bigint) >= commit.offset) break
        if (records > 0 && records + work.offsets.length > limit) {
          cut = work.offsets[0]
          break
        }
        take(work)
      }
      const above: HeldWork[] = []
      if (cut === undefined && ranges.length > 0) {
        for (; next < entries.length; next++) {
          const work = (entries[next] as Entry).work
          if (work.offsets.every((offset) => inRanges(offset, ranges))) above.push(work)
        }
      }
      const aboveRecords = above.reduce((sum, work) => sum + work.offsets.length, 0)
      if (cut === undefined && above.length > 0 && records > 0 && records + aboveRecords > limit) cut = commit.offset
      if (cut !== undefined) {
        commits.push(this.cutAt(commit, cut))
        complete = false
        continue
      }
      const written = this.writtenAbove(commit, commit.offset)
      if (!written.every((range) => within(range, ranges))) {
        // The metadata asked for leaves out ranges whose outputs are written (it was cut to its
        // byte budget): storing it would have them run again. Store what is written instead; the
        // done records above wait, held, for a later commit.
        commits.push(this.cutAt(commit, commit.offset))
        continue
      }
      for (const work of above) take(work)
      commits.push(commit)
    }
    return { offsets: commits, outputs, works, records, complete }
  }

  /** A commit of `commit`'s partition at `offset`, below the offset asked for, naming the ranges already written above it. */
  private cutAt(commit: OffsetToCommit, offset: bigint): OffsetToCommit {
    const written = this.writtenAbove(commit, offset)
    const metadata = encodeDoneRanges(offset, written, Math.max(commit.metadata?.length ?? 0, DEFAULT_METADATA_BYTES))
    return metadata === '' ? { topic: commit.topic, partition: commit.partition, offset } : { topic: commit.topic, partition: commit.partition, offset, metadata }
  }

  private writtenAbove(tp: TopicPartition, offset: bigint): readonly OffsetRange[] {
    return (this.durable.get(partitionKey(tp)) ?? []).filter(([from]) => from > offset)
  }

  /** The transaction of `share` committed: its works are written, its offsets stored. */
  release(share: Pick<CoveredOutputs, 'works' | 'offsets'>): void {
    let bareChanged = false
    for (const commit of share.offsets) {
      const key = partitionKey(commit)
      this.durable.set(key, decodeDoneRanges(commit.offset, commit.metadata ?? null))
      const bare = this.bare.get(key)
      if (bare === undefined) continue
      bareChanged = true
      // Those below the commit are committed. Which of them lie above it is not kept; at most
      // `end - offset` can (offsets are distinct), which is exact when they finished in order.
      if (commit.offset >= bare.end) this.bare.delete(key)
      else bare.count = Math.min(bare.count, Number(bare.end - commit.offset))
    }
    const works = share.works
    if (works.size === 0) {
      if (bareChanged) this.recount()
      return
    }
    for (const [key, held] of this.byPartition) {
      const kept = held.filter((entry) => !works.has(entry.work))
      if (kept.length === held.length) continue
      if (kept.length === 0) this.byPartition.delete(key)
      else this.byPartition.set(key, kept)
    }
    this.recount()
  }

  /**
   * Partitions assigned afresh: outputs left from an earlier ownership go (those records run
   * again), and what the group stored (the previous owner's done ranges) is what is written.
   */
  assigned(partitions: readonly AssignedPartition[]): void {
    this.drop(partitions)
    for (const tp of partitions) {
      if (tp.committed !== null) this.durable.set(partitionKey(tp), decodeDoneRanges(tp.committed.offset, tp.committed.metadata))
    }
  }

  /** Partitions this member no longer owns (lost): their outputs go. */
  drop(partitions: readonly TopicPartition[]): void {
    let dropped = false
    for (const tp of partitions) {
      this.durable.delete(partitionKey(tp))
      dropped = this.bare.delete(partitionKey(tp)) || dropped
      dropped = this.byPartition.delete(partitionKey(tp)) || dropped
    }
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
    let bareRecords = 0
    for (const bare of this.bare.values()) {
      bareRecords += bare.count
      if (oldest === undefined || bare.at < oldest) oldest = bare.at
    }
    this.heldRecords = records
    this.bareRecords = bareRecords
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

function within([from, to]: OffsetRange, ranges: readonly OffsetRange[]): boolean {
  return ranges.some(([a, b]) => a <= from && to <= b)
}

/** Keeps `entries` in the order of their first offsets; works mostly finish in that order, so this looks from the end. */
function insertByFirstOffset(entries: Entry[], entry: Entry): void {
  const first = entry.work.offsets[0] as bigint
  let at = entries.length
  while (at > 0 && ((entries[at - 1] as Entry).work.offsets[0] as bigint) > first) at--
  entries.splice(at, 0, entry)
}
