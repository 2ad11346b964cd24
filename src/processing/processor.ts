/**
 * The engine under `app.run()`: it owns the partition workers, routes fetched batches to them,
 * commits on an interval, and carries out the hand-off when the consumer revokes or loses
 * partitions.
 *
 * The hand-off on revocation and loss is described once, in README.md ("The hand-off"): `handOff`
 * carries out its five steps, `lost` the short form.
 */
import type { AssignedPartition, ConsumerEvents, ConsumerPort, FetchedBatch, OffsetToCommit, ProducedRecord, TopicPartition } from './consumer-port.js'
import { partitionKey } from '../client/index.js'
import type { ResolvedAppConfig, ResolvedTopicConfig } from './config.js'
import { CommitMetadataTooLargeError, ProcessingAbortedError, StaleGenerationError } from './errors.js'
import type { Chain, Work } from './handler.js'
import { publish, type ProcessingMetrics } from './instrumentation.js'
import { ConcurrencyLimiter, EventLoopTurns } from './limiter.js'
import { decodeDoneRanges, DEFAULT_METADATA_BYTES, type OffsetRange } from './offset-metadata.js'
import type { Logger } from './logger.js'
import { PartitionWorker, type WorkOutcome } from './partition-worker.js'

export interface Route {
  readonly topic: string
  readonly config: ResolvedTopicConfig
  /** The middleware and the handler, and the failure path (retries, dead letters) around them. */
  readonly chain: Chain
}

export interface ProcessorOptions {
  readonly config: ResolvedAppConfig
  readonly consumer: ConsumerPort
  readonly routes: ReadonlyMap<string, Route>
  readonly logger: Logger
  readonly metrics: ProcessingMetrics | undefined
  /** What `ctx.produce` sends through. */
  readonly produce: (record: ProducedRecord) => Promise<void>
  readonly onFatal: (error: Error) => void
  /** Delay before work that failed outside retries and dead letters runs again. Default 1000 ms. */
  readonly redispatchDelayMs?: number
}

export interface HandOffResult {
  /** Handlers aborted at the deadline; their records will be processed again. */
  readonly aborted: number
  readonly commitError: Error | undefined
}

type CommitReason = 'interval' | 'rebalance' | 'shutdown'

export interface Health {
  readonly live: boolean
  /** Time since a handler last settled, while there is work; 0 when idle. */
  readonly msSinceProgress: number
  readonly inFlight: number
  readonly queued: number
  /** Partitions owned. */
  readonly partitions: number
}

export class Processor {
  private readonly workers = new Map<string, PartitionWorker>()
  private readonly limiter: ConcurrencyLimiter
  private readonly turns = new EventLoopTurns()
  private readonly handOffs = new Set<Promise<HandOffResult>>()
  private commits: Promise<unknown> = Promise.resolve()
  private commitTimer: NodeJS.Timeout | undefined
  private stopping = false
  /**
   * Liveness bookkeeping. Handlers settle up to millions of times a second, so a settle only counts;
   * a timer notes when the count last moved (`sampleProgress`), which puts `msSinceProgress` at
   * most one sampling period behind.
   */
  private settledCount = 0
  private sampledCount = 0
  private lastProgressAt = Date.now()
  private progressTimer: NodeJS.Timeout | undefined
  /** Bytes of metadata a commit may carry per partition; lowered when the broker allows less. */
  private metadataBudget = DEFAULT_METADATA_BYTES

  constructor(private readonly options: ProcessorOptions) {
    this.limiter = new ConcurrencyLimiter(options.config.concurrency)
  }

  async start(): Promise<void> {
    const events: ConsumerEvents = {
      onAssign: (partitions) => this.assign(partitions),
      onRevoke: async (partitions) => {
        await this.handOff(partitions, 'rebalance', this.options.config.drainTimeoutMs)
      },
      onLost: (partitions) => this.lose(partitions),
      onBatch: (batch) => this.route(batch),
      onFatal: (error) => this.options.onFatal(error),
    }
    await this.options.consumer.start([...this.options.routes.keys()], events)
    this.commitTimer = setInterval(() => void this.commitOwned('interval'), this.options.config.commitIntervalMs)
    this.commitTimer.unref()
    this.progressTimer = setInterval(() => this.sampleProgress(), Math.min(1000, Math.max(1, this.options.config.livenessTimeoutMs >> 2)))
    this.progressTimer.unref()
  }

  /**
   * Graceful stop: stop fetching, drain up to the shutdown deadline, commit, leave the group. Work
   * still running at the deadline is aborted and left to the partitions' next owners.
   */
  async stop(): Promise<HandOffResult> {
    this.stopping = true
    clearInterval(this.commitTimer)
    clearInterval(this.progressTimer)
    const owned = [...this.workers.values()].filter((w) => w.state === 'active')
    this.options.consumer.pause(owned)
    const result = await this.handOff(owned, 'shutdown', this.options.config.shutdownTimeoutMs)
    await Promise.all(this.handOffs)
    await this.options.consumer.close()
    return result
  }

  /** Abort everything at once and commit nothing: what a second signal asks for. */
  abortAll(): void {
    this.stopping = true
    clearInterval(this.commitTimer)
    clearInterval(this.progressTimer)
    for (const worker of this.workers.values()) {
      worker.close(new ProcessingAbortedError('PROCESSING_FORCED_STOP', 'the app was stopped by force; the record will be processed again'))
    }
    this.workers.clear()
  }

  /** Commits what is done on every owned partition; rejections are logged, not thrown. */
  async commitOwned(reason: CommitReason = 'interval'): Promise<void> {
    try {
      await this.commit(() => [...this.workers.values()], reason)
    } catch (error) {
      // A stale generation means a rebalance is under way; its revocation commits for us.
      if (error instanceof StaleGenerationError) this.options.logger.debug({ err: error }, 'interval commit skipped: the group is rebalancing')
      else this.options.logger.warn({ err: error }, 'commit failed; it is retried at the next interval')
    }
  }

  /**
   * Liveness measured on the workers, not on one record (the idea behind KIP-62's split of the
   * session timeout from the poll interval): live while there is no work, or while some handler
   * settled within `livenessTimeoutMs`.
   */
  health(livenessTimeoutMs: number): Health {
    let inFlight = 0
    let queued = 0
    for (const worker of this.workers.values()) {
      inFlight += worker.inFlight
      queued += worker.queued
    }
    const now = Date.now()
    this.sampleProgress(now)
    const idle = inFlight === 0 && queued === 0
    if (idle) this.lastProgressAt = now
    const msSinceProgress = now - this.lastProgressAt
    return { live: idle || msSinceProgress < livenessTimeoutMs, msSinceProgress: idle ? 0 : msSinceProgress, inFlight, queued, partitions: this.workers.size }
  }

  private sampleProgress(now = Date.now()): void {
    if (this.settledCount === this.sampledCount) return
    this.sampledCount = this.settledCount
    this.lastProgressAt = now
  }

  get ownedPartitions(): TopicPartition[] {
    return [...this.workers.values()].map(({ topic, partition }) => ({ topic, partition }))
  }

  private assign(assigned: readonly AssignedPartition[]): Promise<void> {
    this.options.metrics?.rebalances.inc({ kind: 'assign' })
    const partitions = assigned.map(({ topic, partition }) => ({ topic, partition }))
    if (this.stopping) return Promise.resolve()
    for (const tp of assigned) {
      const route = this.options.routes.get(tp.topic)
      if (route === undefined) {
        this.options.logger.warn({ topic: tp.topic, partition: tp.partition }, 'assigned a partition of a topic with no handler; ignoring it')
        continue
      }
      const existing = this.workers.get(partitionKey(tp))
      if (existing !== undefined && existing.state === 'active') continue
      // What the previous owner finished above its commit point (key mode), so as not to run it twice.
      const done = tp.committed === null ? [] : decodeDoneRanges(tp.committed.offset, tp.committed.metadata)
      this.workers.set(partitionKey(tp), this.createWorker(tp, route, done))
    }
    this.options.logger.info({ partitions: describe(partitions) }, 'partitions assigned')
    publish('assigned', () => ({ groupId: this.options.config.groupId, partitions }))
    return Promise.resolve()
  }

  private route(batch: FetchedBatch): void {
    // Batches of partitions not owned (any more) are dropped unregistered: the owner fetches them.
    const worker = this.workers.get(partitionKey(batch))
    if (worker === undefined) return
    worker.enqueue(batch)
    this.updateLag(worker)
  }

  private handOff(partitions: readonly TopicPartition[], reason: 'rebalance' | 'shutdown', deadlineMs: number): Promise<HandOffResult> {
    const run = this.runHandOff(partitions, reason, deadlineMs)
    this.handOffs.add(run)
    const forget = (): void => void this.handOffs.delete(run)
    run.then(forget, forget)
    return run
  }

  private async runHandOff(partitions: readonly TopicPartition[], reason: 'rebalance' | 'shutdown', deadlineMs: number): Promise<HandOffResult> {
    const startedAt = performance.now()
    const { groupId } = this.options.config
    // A partition that a hand-off under way is already draining (a rebalance revoking it during the
    // stop's hand-off) is released only after that hand-off has committed it: returning at once
    // would let the consumer give the partition to its next owner before the commit.
    const underWay = [...this.handOffs]
    if (underWay.length > 0 && partitions.some((tp) => this.handingOff(tp))) await Promise.allSettled(underWay)
    // Workers still active are this hand-off's; the others belonged to the one under way, which finished them.
    const workers = partitions
      .map((tp) => this.workers.get(partitionKey(tp)))
      .filter((w): w is PartitionWorker => w !== undefined && w.state === 'active')
    // Nothing of ours to hand over (a close after a shutdown already handed everything off).
    if (workers.length === 0) return { aborted: 0, commitError: undefined }
    this.options.metrics?.rebalances.inc({ kind: 'revoke' })
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
      this.options.logger.warn({ aborted, deadlineMs }, 'drain deadline passed; aborted the handlers still running')
    }

    let committed: OffsetToCommit[] = []
    let commitError: Error | undefined
    try {
      // A worker lost during the drain is gone from the map: its generation ended, so no commit for it.
      const stillOwned = () => workers.filter((w) => this.workers.get(partitionKey(w)) === w)
      committed = await this.commit(stillOwned, reason === 'rebalance' ? 'rebalance' : 'shutdown')
    } catch (error) {
      commitError = error as Error
      this.options.logger.warn({ err: error }, 'commit on revocation failed; records done since the last commit will be processed again')
    }
    for (const worker of workers) {
      worker.close()
      if (this.workers.get(partitionKey(worker)) === worker) this.workers.delete(partitionKey(worker))
    }
    const durationMs = performance.now() - startedAt
    this.options.metrics?.rebalanceDuration.observe({ kind: 'revoke' }, durationMs / 1000)
    this.options.logger.info({ partitions: describe(partitions), durationMs: Math.round(durationMs), aborted, reason }, 'partitions handed off')
    publish('revoked', () => ({ groupId, partitions, reason, durationMs, aborted, committed, commitError }))
    return { aborted, commitError }
  }

  private lose(partitions: readonly TopicPartition[]): Promise<void> {
    const startedAt = performance.now()
    let aborted = 0
    for (const tp of partitions) {
      const worker = this.workers.get(partitionKey(tp))
      if (worker === undefined) continue
      aborted += worker.inFlight
      worker.close(
        new ProcessingAbortedError(
          'PROCESSING_PARTITION_LOST',
          `${tp.topic}[${tp.partition}] was lost (this member's generation ended); another member may be processing it`,
        ),
      )
      this.workers.delete(partitionKey(tp))
    }
    this.options.metrics?.rebalances.inc({ kind: 'lost' })
    this.options.metrics?.rebalanceDuration.observe({ kind: 'lost' }, (performance.now() - startedAt) / 1000)
    this.options.logger.warn({ partitions: describe(partitions), aborted }, 'partitions lost; nothing committed for them')
    publish('lost', () => ({ groupId: this.options.config.groupId, partitions, aborted }))
    return Promise.resolve()
  }

  /**
   * Commits one after another, so an older offset never lands after a newer one. The offsets are
   * read when the commit's turn comes, not when it is asked for.
   */
  private commit(workersOf: () => PartitionWorker[], reason: CommitReason): Promise<OffsetToCommit[]> {
    const run = this.commits.then(async () => {
      const workers = workersOf()
      let offsets = this.offsetsToCommit(workers)
      for (;;) {
        if (offsets.length === 0) return offsets
        try {
          await this.options.consumer.commit(offsets)
          break
        } catch (error) {
          // The broker allows less metadata than baton writes: nothing was stored. Commit again with
          // less; records then noted no more are simply redone by a next owner.
          if (!(error instanceof CommitMetadataTooLargeError) || this.metadataBudget === 0) throw error
          this.metadataBudget = this.metadataBudget > 256 ? this.metadataBudget >> 2 : 0
          this.options.logger.warn(
            { err: error, metadataBytes: this.metadataBudget },
            "the broker refused the commit's metadata as too large; committing with less. Raise the broker's offset.metadata.max.bytes (Kafka's default is 4096) to keep key mode free of duplicates on rebalances",
          )
          offsets = this.offsetsToCommit(workers)
        }
      }
      const byPartition = new Map(offsets.map((o) => [partitionKey(o), o]))
      for (const worker of workers) {
        const committed = byPartition.get(partitionKey(worker))
        if (committed === undefined) continue
        worker.markCommitted(committed)
        this.options.metrics?.committedOffset.set({ topic: worker.topic, partition: String(worker.partition) }, Number(committed.offset))
        this.updateLag(worker)
      }
      this.options.logger.debug({ offsets: offsets.map((o) => `${o.topic}[${o.partition}]@${o.offset}`), reason }, 'committed')
      publish('committed', () => ({ groupId: this.options.config.groupId, offsets, reason }))
      return offsets
    })
    this.commits = run.catch(() => undefined)
    return run
  }

  /** A worker of this partition is being handed off (revoking or closed, and not yet replaced). */
  private handingOff(tp: TopicPartition): boolean {
    const worker = this.workers.get(partitionKey(tp))
    return worker !== undefined && worker.state !== 'active'
  }

  /** What each worker has done and not yet committed, with the records done above it as metadata. */
  private offsetsToCommit(workers: readonly PartitionWorker[]): OffsetToCommit[] {
    const offsets: OffsetToCommit[] = []
    for (const worker of workers) {
      const offset = worker.toCommit(this.metadataBudget)
      if (offset !== undefined) offsets.push(offset)
    }
    return offsets
  }

  private createWorker(tp: TopicPartition, route: Route, doneByPreviousOwner: readonly OffsetRange[]): PartitionWorker {
    const metrics = this.options.metrics
    const logger = this.options.logger
    return new PartitionWorker({
      topic: tp.topic,
      partition: tp.partition,
      mode: route.config.mode,
      batchSize: route.config.batchSize,
      maxQueued: this.options.config.maxQueuedPerPartition,
      limiter: this.limiter,
      turns: this.turns,
      chain: route.chain,
      logger,
      produce: this.options.produce,
      pause: () => this.options.consumer.pause([tp]),
      resume: () => this.options.consumer.resume([tp]),
      redispatchDelayMs: this.options.redispatchDelayMs ?? 1000,
      doneByPreviousOwner,
      observer: {
        settled: (work: Work, outcome: WorkOutcome, durationMs: number, error: unknown) => {
          this.settledCount++
          metrics?.processed.inc({ topic: work.topic, outcome }, work.records.length)
          metrics?.handlerDuration.observe({ topic: work.topic }, durationMs / 1000)
          if (outcome === 'failed') {
            logger.error(
              { err: error, topic: work.topic, partition: work.partition, offset: String(work.records[0]?.offset) },
              'work failed outside the retry and dead-letter path; it will run again',
            )
          }
        },
        // The handler's duration only feeds the histogram: without metrics the clock is not read.
        measuresDuration: metrics !== undefined,
        inFlightChanged(delta: number) {
          metrics?.inFlight.inc(delta)
        },
        internalError: (error: Error) => {
          logger.error({ err: error }, 'internal bookkeeping error; stopping')
          this.options.onFatal(error)
        },
      },
    })
  }

  private updateLag(worker: PartitionWorker): void {
    const committable = worker.tracker.committable()
    if (this.options.metrics === undefined || worker.highWatermark === undefined || committable === undefined) return
    const lag = worker.highWatermark > committable ? worker.highWatermark - committable : 0n
    this.options.metrics.lag.set({ topic: worker.topic, partition: String(worker.partition) }, Number(lag))
  }
}

/** True if `promise` settled within `ms`; the timer is cleared either way. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([promise.then(() => true as const), deadline])
  } finally {
    clearTimeout(timer)
  }
}

function describe(partitions: readonly TopicPartition[]): string[] {
  return partitions.map((tp) => `${tp.topic}[${tp.partition}]`)
}
