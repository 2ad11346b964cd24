/**
 * The second phase of ending a transaction, and what ends one without its producer: writing the
 * COMMIT or ABORT marker to each of its partitions, applying or dropping its offsets, storing the
 * Complete state; the transaction timeout (Kafka's transaction.timeout.ms, after which the
 * coordinator fences the epoch and aborts); and recovery after a restart, which finishes every
 * stored decision and leaves no partition with a transaction nobody will end.
 */
import { appendTransactionMarker } from '../append.js'
import type { Partition } from '../cluster.js'
import type { Scheduler, Timer } from '../groups/scheduler.js'
import type { BrokerLogger } from '../options.js'
import { CONSUMER_OFFSETS_TOPIC, type PendingOffset, type TransactionMetadata } from './metadata.js'

/**
 * Kafka's coordinator epoch fences markers from a coordinator that lost its partition; with one
 * coordinator in the process there is only ever this one.
 */
export const COORDINATOR_EPOCH = 0

export interface CompletionDeps {
  readonly partitionOf: (topic: string, partition: number) => Partition | undefined
  readonly allPartitions: () => Iterable<Partition>
  /** Makes a committed transaction's offsets visible in the group coordinator (and durable). */
  readonly applyOffsets: (groupId: string, offsets: readonly PendingOffset[]) => void
  readonly logger: BrokerLogger
  /** The broker's fsync option: markers reach the device before the Complete state is stored. */
  readonly fsync: boolean
}

export class Completion {
  private readonly deps: CompletionDeps
  private readonly scheduler: Scheduler
  private readonly save: (txn: TransactionMetadata) => void
  private markerDelayMs = 0
  private readonly delayed = new Set<Timer>()

  constructor(deps: CompletionDeps, scheduler: Scheduler, save: (txn: TransactionMetadata) => void) {
    this.deps = deps
    this.scheduler = scheduler
    this.save = save
  }

  delayMarkers(ms: number): () => void {
    this.markerDelayMs = ms
    return () => {
      this.markerDelayMs = 0
    }
  }

  /** Decides the transaction (stored first), then writes its markers now or after the test delay. */
  end(txn: TransactionMetadata, result: 'commit' | 'abort'): void {
    txn.timer?.cancel()
    txn.timer = null
    txn.state = result === 'commit' ? 'PrepareCommit' : 'PrepareAbort'
    this.save(txn)
    if (this.markerDelayMs <= 0) {
      this.complete(txn)
      return
    }
    const timer = this.scheduler.schedule(this.markerDelayMs, () => {
      this.delayed.delete(timer)
      this.complete(txn)
    })
    this.delayed.add(timer)
  }

  /** Starts the transaction's timeout; when it fires on the same transaction, the epoch is fenced and it is aborted. */
  scheduleTimeout(txn: TransactionMetadata): void {
    txn.timer?.cancel()
    const start = txn.startTimestamp
    txn.timer = this.scheduler.schedule(start + txn.timeoutMs - this.scheduler.now(), () => {
      txn.timer = null
      if (txn.state !== 'Ongoing' || txn.startTimestamp !== start) return
      this.deps.logger.info(
        { transactionalId: txn.transactionalId, producerId: String(txn.producerId), producerEpoch: txn.producerEpoch, timeoutMs: txn.timeoutMs },
        'transaction timed out; fencing its producer epoch and aborting it',
      )
      txn.fenceEpoch()
      this.end(txn, 'abort')
    })
  }

  /**
   * After a restart: stored decisions are carried out, open transactions get their timeout back
   * (from when they started, so one long past it is aborted at once), and a partition left with a
   * transaction the coordinator has no open record of is aborted there, so no record stays
   * undecided for ever.
   */
  recover(transactions: ReadonlyMap<string, TransactionMetadata>): void {
    for (const txn of transactions.values()) {
      if (txn.state === 'PrepareCommit' || txn.state === 'PrepareAbort') {
        this.deps.logger.info({ transactionalId: txn.transactionalId, state: txn.state }, 'completing a transaction decided before the restart')
        this.complete(txn)
      } else if (txn.state === 'Ongoing') {
        this.scheduleTimeout(txn)
      }
    }
    const open = new Set<bigint>()
    for (const txn of transactions.values()) if (txn.isOpen) open.add(txn.producerId)
    for (const partition of this.deps.allPartitions()) {
      for (const t of [...partition.transactions.openTransactions()]) {
        if (open.has(t.producerId)) continue
        this.deps.logger.warn(
          { topic: partition.topic.name, partition: partition.index, producerId: String(t.producerId), firstOffset: t.firstOffset },
          'aborting a transaction the coordinator has no open record of',
        )
        const epoch = Math.max(t.producerEpoch, partition.producers.epochOf(t.producerId) ?? 0)
        appendTransactionMarker(partition, 'abort', t.producerId, epoch, COORDINATOR_EPOCH, this.scheduler.now())
      }
    }
  }

  /** Cancels timeouts and delayed marker writes: what was decided stays stored for the next start. */
  close(transactions: Iterable<TransactionMetadata>): void {
    for (const timer of this.delayed) timer.cancel()
    this.delayed.clear()
    for (const txn of transactions) {
      txn.timer?.cancel()
      txn.timer = null
    }
  }

  private complete(txn: TransactionMetadata): void {
    const commit = txn.state === 'PrepareCommit'
    if (!commit && txn.state !== 'PrepareAbort') return
    const now = this.scheduler.now()
    for (const { topic, partition } of txn.partitions.values()) {
      if (topic === CONSUMER_OFFSETS_TOPIC) continue
      const target = this.deps.partitionOf(topic, partition)
      // A partition deleted during the transaction has nothing left to mark.
      if (target === undefined) continue
      appendTransactionMarker(target, commit ? 'commit' : 'abort', txn.producerId, txn.producerEpoch, COORDINATOR_EPOCH, now)
      if (this.deps.fsync) target.log.sync()
    }
    if (commit) for (const [groupId, offsets] of txn.pendingOffsets) this.deps.applyOffsets(groupId, [...offsets.values()])
    txn.state = commit ? 'CompleteCommit' : 'CompleteAbort'
    txn.clearTransaction()
    this.save(txn)
  }
}
