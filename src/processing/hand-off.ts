/**
 * The hand-off of partitions leaving this member, described once in README.md ("The hand-off"):
 * `revoke` carries out its five steps (on a revocation, and for the stop), `lose` the short form.
 * Hand-offs may overlap (a rebalance revoking a partition the stop's hand-off drains): a partition
 * is released only after the hand-off that drains it has committed it.
 */
import type { OffsetToCommit, TopicPartition } from './consumer-port.js'
import type { Committer } from './committer.js'
import { ProcessingAbortedError } from './errors.js'
import { publish, type ProcessingMetrics } from './instrumentation.js'
import type { Logger } from './logger.js'
import type { PartitionWorker } from './partition-worker.js'
import { describePartitions as describe, settlesWithin } from './settles-within.js'

export interface HandOffResult {
  /** Handlers aborted at the deadline; their records will be processed again. */
  readonly aborted: number
  readonly commitError: Error | undefined
  /** Offsets done but not committed (the commit failed or the deadline passed): their records will be processed again. */
  readonly uncommitted: readonly OffsetToCommit[]
}

/** What a hand-off needs of the processor that owns the workers. */
export interface HandOffHost {
  readonly groupId: string
  readonly logger: Logger
  readonly metrics: ProcessingMetrics | undefined
  readonly committer: Committer
  readonly deliveries: { letGo(partitions: readonly TopicPartition[], what: 'lost' | 'released'): Promise<void> }
  /** The partition's worker now, if any. */
  worker(tp: TopicPartition): PartitionWorker | undefined
  /** The partition leaves this member: its worker and its metric series go. */
  retire(worker: PartitionWorker): void
  /** Partitions owned now, for log lines. */
  owned(): TopicPartition[]
}

export class HandOffs {
  private readonly underWay = new Set<Promise<HandOffResult>>()
  /** Revoked and lost since the last assignment, for the one log line per rebalance. */
  private revokedSinceAssign: TopicPartition[] = []
  private lostSinceAssign: TopicPartition[] = []

  constructor(private readonly host: HandOffHost) {}

  /** True once every hand-off under way has finished, or false when `ms` passed first. */
  settleWithin(ms: number): Promise<boolean> {
    return settlesWithin(Promise.all(this.underWay), ms)
  }

  /** What went since the last assignment (and starts counting again): for the "rebalanced" log line. */
  takeSinceAssign(): { revoked: TopicPartition[]; lost: TopicPartition[] } {
    const since = { revoked: this.revokedSinceAssign, lost: this.lostSinceAssign }
    this.revokedSinceAssign = []
    this.lostSinceAssign = []
    return since
  }

  /**
   * Hands `partitions` off (README "The hand-off"): stop dispatching, drain to `deadlineMs`, abort
   * the rest, commit, let the deliveries go of them. A stop passes its own deadline, which the
   * commit does not wait past.
   */
  revoke(partitions: readonly TopicPartition[], reason: 'rebalance' | 'shutdown', deadlineMs: number, stopDeadline?: number): Promise<HandOffResult> {
    const run = this.run(partitions, reason, deadlineMs, stopDeadline)
    this.underWay.add(run)
    const forget = (): void => void this.underWay.delete(run)
    run.then(forget, forget)
    return run
  }

  private async run(partitions: readonly TopicPartition[], reason: 'rebalance' | 'shutdown', deadlineMs: number, stopDeadline?: number): Promise<HandOffResult> {
    const startedAt = performance.now()
    const { groupId } = this.host
    // A partition that a hand-off under way is already draining (a rebalance revoking it during the
    // stop's hand-off) is released only after that hand-off has committed it: returning at once
    // would let the consumer give the partition to its next owner before the commit.
    const underWay = [...this.underWay]
    if (underWay.length > 0 && partitions.some((tp) => this.handingOff(tp))) await Promise.allSettled(underWay)
    // Workers still active are this hand-off's; the others belonged to the one under way, which finished them.
    const workers = partitions
      .map((tp) => this.host.worker(tp))
      .filter((w): w is PartitionWorker => w !== undefined && w.state === 'active')
    // Nothing of ours to hand over (a close after a shutdown already handed everything off).
    if (workers.length === 0) return { aborted: 0, commitError: undefined, uncommitted: [] }
    this.host.metrics?.rebalances.inc({ kind: 'revoke' })
    publish('revoking', () => ({ groupId, partitions, reason }))
    for (const worker of workers) worker.beginRevoke()

    const drained = await settlesWithin(Promise.all(workers.map((w) => w.idle())), deadlineMs)
    let aborted = 0
    if (!drained) {
      for (const worker of workers) {
        aborted += worker.inFlight
        worker.close(
          new ProcessingAbortedError(
            'PROCESSING_DRAIN_TIMEOUT',
            `${worker.topic}[${worker.partition}] is being handed off and the drain deadline (${deadlineMs} ms) passed; the record will be processed again by the next owner`,
          ),
        )
      }
      this.host.logger.warn({ aborted, deadlineMs }, 'drain deadline passed; aborted the handlers still running')
    }

    let committed: OffsetToCommit[] = []
    let commitError: Error | undefined
    // A worker lost during the drain is gone from the map: its generation ended, so no commit for it.
    const stillOwned = () => workers.filter((w) => this.host.worker(w) === w)
    const wanted = this.host.committer.offsetsToCommit(stillOwned())
    let uncommitted: readonly OffsetToCommit[] = []
    try {
      const commit = this.host.committer.commit(stillOwned, reason === 'rebalance' ? 'rebalance' : 'shutdown')
      if (stopDeadline === undefined) committed = await commit
      else {
        // A stop does not wait past its deadline for a commit the group holds up (a rebalance waiting on a crashed member).
        const timeoutMs = Math.max(0, stopDeadline - performance.now() - 1000)
        let timer: NodeJS.Timeout | undefined
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the commit did not complete within the stop deadline (${timeoutMs} ms left after the drain)`)), timeoutMs)
        })
        commit.catch(() => undefined)
        try {
          committed = await Promise.race([commit, timedOut])
        } finally {
          clearTimeout(timer)
        }
      }
    } catch (error) {
      commitError = error as Error
      uncommitted = wanted
      this.host.logger.warn(
        { err: error, uncommitted: uncommitted.map(describeOffset) },
        `commit on ${reason === 'rebalance' ? 'revocation' : 'stop'} failed; the records done since the last commit of these partitions will be processed again`,
      )
    }
    for (const worker of workers) {
      worker.close()
      if (this.host.worker(worker) === worker) this.host.retire(worker)
    }
    await this.host.deliveries.letGo(workers, 'released')
    const durationMs = performance.now() - startedAt
    this.host.metrics?.rebalanceDuration.observe({ kind: 'revoke' }, durationMs / 1000)
    if (reason === 'rebalance') this.revokedSinceAssign.push(...partitions)
    this.host.logger.info(
      { revoked: describe(partitions), committed: committed.map(describeOffset), durationMs: Math.round(durationMs), aborted, reason, owned: describe(this.host.owned()) },
      reason === 'rebalance' ? 'partitions revoked' : 'partitions handed off for the stop',
    )
    publish('revoked', () => ({ groupId, partitions, reason, durationMs, aborted, committed, commitError }))
    return { aborted, commitError, uncommitted }
  }

  /** Partitions lost (README "The hand-off", on loss): abort, commit nothing. */
  async lose(partitions: readonly TopicPartition[]): Promise<void> {
    const startedAt = performance.now()
    let aborted = 0
    for (const tp of partitions) {
      const worker = this.host.worker(tp)
      if (worker === undefined) continue
      aborted += worker.inFlight
      worker.close(
        new ProcessingAbortedError(
          'PROCESSING_PARTITION_LOST',
          `${tp.topic}[${tp.partition}] was lost (this member's generation ended); another member may be processing it`,
        ),
      )
      this.host.retire(worker)
    }
    this.host.metrics?.rebalances.inc({ kind: 'lost' })
    this.host.metrics?.rebalanceDuration.observe({ kind: 'lost' }, (performance.now() - startedAt) / 1000)
    this.lostSinceAssign.push(...partitions)
    this.host.logger.warn({ lost: describe(partitions), aborted, owned: describe(this.host.owned()) }, 'partitions lost; nothing committed for them')
    publish('lost', () => ({ groupId: this.host.groupId, partitions, aborted }))
    await this.host.deliveries.letGo(partitions, 'lost')
  }

  /** A worker of this partition is being handed off (revoking or closed, and not yet replaced). */
  private handingOff(tp: TopicPartition): boolean {
    const worker = this.host.worker(tp)
    return worker !== undefined && worker.state !== 'active'
  }
}

function describeOffset(o: OffsetToCommit): string {
  return `${o.topic}[${o.partition}]@${o.offset}`
}
