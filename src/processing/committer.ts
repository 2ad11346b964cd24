/**
 * The processor's commits: one after another, so an older offset never lands after a newer one,
 * each reading its offsets when its turn comes; commits as work completes (`commitIntervalMs: 0`);
 * and the metadata budget, lowered when the broker refuses the done ranges as too large.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { OffsetToCommit } from './consumer-port.js'
import { partitionKey } from '../client/index.js'
import type { CommitReason } from './delivery/types.js'
import { CommitMetadataTooLargeError, StaleGenerationError } from './errors.js'
import { publish } from './instrumentation.js'
import type { Logger } from './logger.js'
import { DEFAULT_METADATA_BYTES } from './offset-metadata.js'
import type { PartitionWorker } from './partition-worker.js'

/** After a commit made as work completed failed, the next one waits this long: a broker that is down is not asked again at every completion. */
const COMPLETION_COMMIT_BACKOFF_MS = 1000

/** What the committer needs of the processor. */
export interface CommitterHost {
  readonly groupId: string
  readonly commitIntervalMs: number
  readonly logger: Logger
  isStopping(): boolean
  /** Stores the offsets through each route's delivery. */
  deliver(offsets: readonly OffsetToCommit[], reason: CommitReason): Promise<void>
  /** Waits for the batch window of deliveries that batch their commits. */
  batchWindows(): Promise<void>
  /** Every partition worker now. */
  workers(): Iterable<PartitionWorker>
  /** A commit stored `offset` for `worker`, still its partition's worker (metrics follow it). */
  stored(worker: PartitionWorker, offset: OffsetToCommit): void
}

export class Committer {
  private chain: Promise<unknown> = Promise.resolve()
  /** Bytes of metadata a commit may carry per partition; lowered when the broker allows less. */
  private metadataBudget = DEFAULT_METADATA_BYTES
  /** Commits as work completes: one in flight at a time; completions meanwhile ask for the next. */
  private completionRunning = false
  private completionWanted = false

  constructor(private readonly host: CommitterHost) {}

  /**
   * Commits what `workersOf` gives, when the commit's turn comes. Resolves with the offsets
   * committed (none when nothing was due).
   */
  commit(workersOf: () => PartitionWorker[], reason: CommitReason): Promise<OffsetToCommit[]> {
    const run = this.chain.then(async () => {
      const workers = workersOf()
      let offsets = this.offsetsToCommit(workers)
      for (;;) {
        if (offsets.length === 0) {
          for (const worker of this.host.workers()) worker.commitTookHeldWork()
          return offsets
        }
        try {
          await this.host.deliver(offsets, reason)
          break
        } catch (error) {
          // The broker allows less metadata than baton writes: nothing was stored. Commit again with
          // less; records then noted no more are simply redone by a next owner.
          if (!(error instanceof CommitMetadataTooLargeError) || this.metadataBudget === 0) throw error
          this.metadataBudget = this.metadataBudget > 256 ? this.metadataBudget >> 2 : 0
          this.host.logger.warn(
            { err: error, metadataBytes: this.metadataBudget },
            "the broker refused the commit's metadata as too large; committing with less. Raise the broker's offset.metadata.max.bytes (Kafka's default is 4096) to keep key mode free of duplicates on rebalances",
          )
          offsets = this.offsetsToCommit(workers)
        }
      }
      const byPartition = new Map(offsets.map((o) => [partitionKey(o), o]))
      const current = [...this.host.workers()]
      for (const worker of current) worker.commitTookHeldWork()
      for (const worker of workers) {
        const committed = byPartition.get(partitionKey(worker))
        if (committed === undefined) continue
        worker.markCommitted(committed)
        // A partition given away while the commit was on the wire has no series any more.
        if (current.includes(worker)) this.host.stored(worker, committed)
      }
      this.host.logger.debug({ offsets: offsets.map((o) => `${o.topic}[${o.partition}]@${o.offset}`), reason }, 'committed')
      publish('committed', () => ({ groupId: this.host.groupId, offsets, reason }))
      return offsets
    })
    this.chain = run.catch(() => undefined)
    return run
  }

  /** What each worker has done and not yet committed, with the records done above it as metadata. */
  offsetsToCommit(workers: readonly PartitionWorker[]): OffsetToCommit[] {
    const offsets: OffsetToCommit[] = []
    for (const worker of workers) {
      const offset = worker.toCommit(this.metadataBudget)
      if (offset !== undefined) offsets.push(offset)
    }
    return offsets
  }

  /** Commits what is done on every partition; rejections are logged, not thrown. Resolves false when the commit failed. */
  async commitAll(reason: CommitReason = 'interval'): Promise<boolean> {
    try {
      await this.commit(() => [...this.host.workers()], reason)
      return true
    } catch (error) {
      // A stale generation means a rebalance is under way; its revocation commits for us.
      if (error instanceof StaleGenerationError) this.host.logger.debug({ err: error, reason }, 'commit skipped: the group is rebalancing')
      else this.host.logger.warn({ err: error, reason }, reason === 'interval' ? 'commit failed; it is retried at the next interval' : 'commit failed; it is retried as work completes')
      return false
    }
  }

  /**
   * Commit as work completes (`commitIntervalMs: 0`, the default): at most one commit in flight,
   * and the next one, asked for by any completion meanwhile, carries everything finished since.
   * After a crash only the records finished within about one commit round trip run again.
   */
  workCompleted(): void {
    if (this.host.commitIntervalMs > 0 || this.host.isStopping()) return
    if (this.completionRunning) {
      this.completionWanted = true
      return
    }
    this.completionRunning = true
    // The next turn, so that a burst of completions in this one goes in a single commit.
    setImmediate(() => void this.commitAsCompleted())
  }

  private async commitAsCompleted(): Promise<void> {
    do {
      this.completionWanted = false
      if (this.host.isStopping()) break
      // A delivery that batches (transactional) holds the commit until its batch is full or old enough.
      await this.host.batchWindows()
      if (this.host.isStopping()) break
      if (!(await this.commitAll('completion'))) {
        await delay(COMPLETION_COMMIT_BACKOFF_MS, undefined, { ref: false })
        // Try again while the failed commit's work is still not committed: no completion may come
        // to ask (the partition's last records, or workers held back by their delivery), and a
        // commit refused by a rebalance is accepted under the next generation. A transactional
        // route's outputs stay invisible until then.
        const workers = [...this.host.workers()]
        if (workers.some((w) => w.isHeldBack) || this.offsetsToCommit(workers).length > 0) this.completionWanted = true
      }
    } while (this.completionWanted)
    this.completionRunning = false
  }
}
