/**
 * The engine under `app.run()`: it owns the partition workers, routes fetched batches to them,
 * commits on an interval, and carries out the hand-off when the consumer revokes or loses
 * partitions.
 *
 * The hand-off on revocation and loss is described once, in README.md ("The hand-off"), and
 * carried out in hand-off.ts; a seek's small hand-off in seek.ts; the commits in committer.ts.
 */
import type { AssignedPartition, ConsumerEvents, ConsumerPort, FetchedBatch, ProducedRecord, SeekOffset, TopicPartition } from './consumer-port.js'
import { partitionKey } from '../client/index.js'
import type { ResolvedAppConfig, ResolvedTopicConfig } from './config.js'
import type { CommitReason, Delivery } from './delivery/types.js'
import { BrokersUnreachableError, ProcessingAbortedError } from './errors.js'
import { Committer } from './committer.js'
import type { Chain, Work } from './handler.js'
import { publish, type ProcessingMetrics } from './instrumentation.js'
import { ConcurrencyLimiter, EventLoopTurns } from './limiter.js'
import { decodeDoneRanges, type OffsetRange } from './offset-metadata.js'
import type { Logger } from './logger.js'
import { PartitionWorker, type WorkOutcome } from './partition-worker.js'
import { RouteDeliveries } from './route-deliveries.js'
import { seekPartition, type SeekHost } from './seek.js'
import { describePartitions as describe, settlesWithin } from './settles-within.js'
import { routeFor, subscriptionOf } from './subscription.js'
import { HandOffs, type HandOffResult } from './hand-off.js'

export interface Route {
  /** The topic's name, or for a pattern route the pattern as written (`/^orders-/`). */
  readonly topic: string
  /** Set for a route given a RegExp instead of a name: it handles every topic that matches. */
  readonly pattern?: RegExp
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
  /** The bootstrap brokers, for error messages. */
  readonly brokers?: string
  /** Delay before work that failed outside retries and dead letters runs again. Default 1000 ms. */
  readonly redispatchDelayMs?: number
  /** How each route's done work is made durable. Default: at-least-once, commits to the group. */
  readonly deliveryFor?: (route: Route) => Delivery | undefined
}

export type { HandOffResult } from './hand-off.js'

/** After the drain, how long a stop may take to commit and leave the group before it gives up on them. */
export const CLOSE_GRACE_MS = 5000
/** A group step that takes longer than this is logged, with what it waits for, and again at this interval. */
export const WAIT_LOG_MS = 5000

export interface Health {
  /**
   * Connected, in the group and assigned (possibly nothing, when the group has more members than
   * partitions): the instance does its share. False while starting, rebalancing, out of reach of
   * the coordinator, or stopping. For a readiness probe.
   */
  readonly ready: boolean
  /** The workers make progress (or have nothing to do). For a liveness probe: restart when false. */
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
  private readonly handOffs: HandOffs
  private readonly committer: Committer
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
  private watchTimer: NodeJS.Timeout | undefined
  /** Set by the first assignment: the member has joined the group. */
  private joined = false
  private joinWaiter: (() => void) | undefined
  private fatal = false
  /** Since when the group has been in a step that is not stable; undefined while stable. */
  private waitingSince: number | undefined
  private waitLoggedAt = 0
  private readonly deliveries: RouteDeliveries<Route>
  /** What a seek needs of this processor (seek.ts). */
  private readonly seekHost: SeekHost

  constructor(private readonly options: ProcessorOptions) {
    this.limiter = new ConcurrencyLimiter(options.config.concurrency)
    this.deliveries = new RouteDeliveries({
      routes: options.routes,
      consumer: options.consumer,
      logger: options.logger,
      ...(options.deliveryFor === undefined ? {} : { deliveryFor: options.deliveryFor }),
    })
    this.committer = new Committer({
      groupId: options.config.groupId,
      commitIntervalMs: options.config.commitIntervalMs,
      logger: options.logger,
      isStopping: () => this.stopping,
      deliver: (offsets, reason) => this.deliveries.commit(offsets, reason),
      batchWindows: () => this.deliveries.batchWindows(),
      workers: () => this.workers.values(),
      stored: (worker, committed) => {
        this.options.metrics?.committedOffset.set({ topic: worker.topic, partition: String(worker.partition) }, Number(committed.offset))
        this.updateLag(worker)
      },
    })
    this.seekHost = {
      consumer: options.consumer,
      logger: options.logger,
      drainTimeoutMs: options.config.drainTimeoutMs,
      isStopping: () => this.stopping,
      worker: (tp) => this.workers.get(partitionKey(tp)),
      deliveryMode: (tp) => this.deliveries.of(routeFor(options.routes, tp.topic)).mode,
      replace: (tp, old) => {
        const fresh = this.createWorker(tp, routeFor(options.routes, tp.topic)!, [], { predecessor: old, pausedByUser: old.isPausedByUser })
        this.workers.set(partitionKey(tp), fresh)
        return fresh
      },
      commit: (workersOf) => this.committer.commit(workersOf, 'seek'),
    }
    this.handOffs = new HandOffs({
      groupId: options.config.groupId,
      logger: options.logger,
      metrics: options.metrics,
      committer: this.committer,
      deliveries: this.deliveries,
      worker: (tp) => this.workers.get(partitionKey(tp)),
      retire: (worker) => this.retire(worker),
      owned: () => this.ownedPartitions,
    })
  }

  /**
   * Joins the group and starts processing. Resolves once the member has joined and received its
   * first assignment (at once for a consumer that reports no status); rejects with
   * `BrokersUnreachableError` if the coordinator stays out of reach for `unreachableTimeoutMs`, or
   * with the consumer's fatal error. A `stop()` meanwhile resolves it.
   */
  async start(): Promise<void> {
    const events: ConsumerEvents = {
      onAssign: (partitions) => this.assign(partitions),
      onRevoke: async (partitions) => {
        await this.handOffs.revoke(partitions, 'rebalance', this.options.config.drainTimeoutMs)
      },
      onLost: (partitions) => this.handOffs.lose(partitions),
      onBatch: (batch) => this.route(batch),
      onFatal: (error) => this.failWith(error, this.joined ? undefined : this.rejectStart),
    }
    const joined = new Promise<void>((resolve, reject) => {
      this.joinWaiter = resolve
      this.rejectStart = reject
    })
    await this.options.consumer.start(subscriptionOf(this.options.routes), events)
    if (this.options.config.commitIntervalMs > 0) {
      this.commitTimer = setInterval(() => void this.commitOwned('interval'), this.options.config.commitIntervalMs)
      this.commitTimer.unref()
    }
    this.progressTimer = setInterval(() => this.sampleProgress(), Math.min(1000, Math.max(1, this.options.config.livenessTimeoutMs >> 2)))
    this.progressTimer.unref()
    if (this.options.consumer.status === undefined) {
      // Nothing to watch or wait for: started once the consumer has.
      this.rejectStart = undefined
      return
    }
    this.watchTimer = setInterval(() => this.watchGroup(), Math.min(1000, this.options.config.unreachableTimeoutMs))
    this.watchTimer.unref()
    try {
      await joined
    } finally {
      this.rejectStart = undefined
    }
  }

  /** Ready: joined, stable and within reach of the coordinator, and not stopping. */
  get ready(): boolean {
    if (this.stopping || this.fatal || !this.joined) return false
    const status = this.options.consumer.status?.()
    return status === undefined || (status.stable && status.unreachableMs === 0)
  }

  private failWith(error: Error, duringStart: ((error: Error) => void) | undefined): void {
    if (this.fatal) return
    this.fatal = true
    if (duringStart !== undefined) duringStart(error)
    else this.options.onFatal(error)
  }

  /**
   * Once a second: the coordinator out of reach for too long is fatal; any other wait longer than
   * a few seconds is logged with what it waits for, so that nothing stalls in silence.
   */
  private watchGroup(): void {
    const status = this.options.consumer.status?.()
    if (status === undefined || this.stopping || this.fatal) return
    const { unreachableTimeoutMs } = this.options.config
    if (status.unreachableMs >= unreachableTimeoutMs) {
      clearInterval(this.watchTimer)
      const error = new BrokersUnreachableError(unreachableTimeoutMs, this.options.brokers ?? 'the consumer passed in')
      // Before the join, the app logs the failed start with this error; logging it here too would say it twice.
      if (this.joined) this.options.logger.error({ err: error, groupId: this.options.config.groupId }, error.message)
      this.failWith(error, this.joined ? undefined : this.rejectStart)
      return
    }
    const now = performance.now()
    if (status.waitingFor === undefined) {
      if (this.waitingSince !== undefined && now - this.waitingSince >= WAIT_LOG_MS) {
        this.options.logger.info({ groupId: this.options.config.groupId, waitedMs: Math.round(now - this.waitingSince) }, 'group wait over')
      }
      this.waitingSince = undefined
      return
    }
    this.waitingSince ??= now
    const waited = now - this.waitingSince
    if (waited >= WAIT_LOG_MS && now - this.waitLoggedAt >= WAIT_LOG_MS) {
      this.waitLoggedAt = now
      const fields = { groupId: this.options.config.groupId, waitedMs: Math.round(waited), unreachableMs: Math.round(status.unreachableMs) }
      const giveUp = status.unreachableMs > 0 ? `; giving up after ${unreachableTimeoutMs} ms out of reach (unreachableTimeoutMs)` : ''
      // A group waiting for a member is normal work of the protocol; a coordinator out of reach is not.
      const message = `waiting ${Math.round(waited / 1000)} s for ${status.waitingFor}${giveUp}`
      if (status.unreachableMs > 0) this.options.logger.warn(fields, message)
      else this.options.logger.info(fields, message)
    }
  }

  private rejectStart: ((error: Error) => void) | undefined

  /**
   * Graceful stop: stop fetching, drain up to the shutdown deadline, commit, leave the group. Work
   * still running at the deadline is aborted and left to the partitions' next owners.
   */
  async stop(): Promise<HandOffResult> {
    this.stopping = true
    this.joinWaiter?.()
    clearInterval(this.commitTimer)
    clearInterval(this.progressTimer)
    clearInterval(this.watchTimer)
    // The whole stop is bounded, whatever the group is doing: the drain gets shutdownTimeoutMs, the
    // commit and the leave what remains of CLOSE_GRACE_MS after it.
    const deadline = performance.now() + this.options.config.shutdownTimeoutMs + CLOSE_GRACE_MS
    const left = (): number => Math.max(0, Math.round(deadline - performance.now()))
    const owned = [...this.workers.values()].filter((w) => w.state === 'active')
    this.options.consumer.pause(owned)
    const result = await this.handOffs.revoke(owned, 'shutdown', this.options.config.shutdownTimeoutMs, deadline)
    if (!(await this.handOffs.settleWithin(left()))) {
      this.options.logger.warn({ groupId: this.options.config.groupId }, 'a rebalance hand-off was still under way at the stop deadline; leaving it unfinished')
    }
    // A member that never joined, or whose consumer failed, has no partitions to hand over and no
    // commit to make: its close gets a second, not the whole grace.
    const closed = this.options.consumer.close({ timeoutMs: this.joined && !this.fatal ? left() : Math.min(left(), 1000) })
    // The consumer abandons its group step at the deadline; a little more lets its connections close.
    if (!(await settlesWithin(closed, left() + 1000))) {
      this.options.logger.warn({ groupId: this.options.config.groupId }, 'the consumer had not closed by the stop deadline; stopping without waiting for it')
    }
    return result
  }

  /** Abort everything at once and commit nothing: what a second signal asks for. */
  abortAll(): void {
    this.stopping = true
    clearInterval(this.commitTimer)
    clearInterval(this.progressTimer)
    clearInterval(this.watchTimer)
    for (const worker of this.workers.values()) {
      worker.close(new ProcessingAbortedError('PROCESSING_FORCED_STOP', 'the app was stopped by force; the record will be processed again'))
    }
    this.workers.clear()
  }

  /** Commits what is done on every owned partition; rejections are logged, not thrown. Resolves false when the commit failed. */
  commitOwned(reason: CommitReason = 'interval'): Promise<boolean> {
    return this.committer.commitAll(reason)
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
    return { ready: this.ready, live: idle || msSinceProgress < livenessTimeoutMs, msSinceProgress: idle ? 0 : msSinceProgress, inFlight, queued, partitions: this.workers.size }
  }

  private sampleProgress(now = Date.now()): void {
    if (this.settledCount === this.sampledCount) return
    this.sampledCount = this.settledCount
    this.lastProgressAt = now
  }

  /** The application's pause of owned partitions (see `PartitionWorker.pauseByUser`); returns those it applied to. */
  pause(partitions: readonly TopicPartition[]): TopicPartition[] {
    return this.ownedOf(partitions).map((w) => (w.pauseByUser(), { topic: w.topic, partition: w.partition }))
  }

  resume(partitions: readonly TopicPartition[]): TopicPartition[] {
    return this.ownedOf(partitions).map((w) => (w.resumeByUser(), { topic: w.topic, partition: w.partition }))
  }

  /** Owned partitions the application paused. */
  paused(): TopicPartition[] {
    return [...this.workers.values()].filter((w) => w.state === 'active' && w.isPausedByUser).map(({ topic, partition }) => ({ topic, partition }))
  }

  /** The application's seek (`app.seek`, `ctx.seek`): see seek.ts. Throws `PartitionNotOwnedError` for a partition not owned, or being revoked. */
  seek(tp: TopicPartition, offset: SeekOffset): Promise<void> {
    return seekPartition(this.seekHost, tp, offset)
  }

  private ownedOf(partitions: readonly TopicPartition[]): PartitionWorker[] {
    return partitions.map((tp) => this.workers.get(partitionKey(tp))).filter((w): w is PartitionWorker => w !== undefined && w.state === 'active')
  }

  get ownedPartitions(): TopicPartition[] {
    return [...this.workers.values()].map(({ topic, partition }) => ({ topic, partition }))
  }

  private async assign(assigned: readonly AssignedPartition[]): Promise<void> {
    this.options.metrics?.rebalances.inc({ kind: 'assign' })
    const partitions = assigned.map(({ topic, partition }) => ({ topic, partition }))
    const firstJoin = !this.joined
    this.joined = true
    this.joinWaiter?.()
    this.joinWaiter = undefined
    if (this.stopping) return
    for (const [route, tps] of this.deliveries.byRoute(assigned)) {
      if (route === undefined) {
        for (const tp of tps) this.options.logger.warn({ topic: tp.topic, partition: tp.partition }, 'assigned a partition of a topic with no handler; ignoring it')
        continue
      }
      const fresh = tps.filter((tp) => this.workers.get(partitionKey(tp))?.state !== 'active')
      const delivery = this.deliveries.of(route)
      // A delivery that keeps its own offsets says where each partition starts.
      const starts = delivery.assigned === undefined || fresh.length === 0 ? fresh : await delivery.assigned(fresh)
      for (const tp of starts) {
        // Nothing committed to the group: fetching starts at the reset position, at or above 0.
        const fetchedFrom = fresh.find((f) => f.topic === tp.topic && f.partition === tp.partition)?.committed?.offset ?? 0n
        // What the previous owner finished above its commit point (key mode), so as not to run it
        // twice, and what a delivery's own offsets put past the group's.
        const done = tp.committed === null ? [] : [...decodeDoneRanges(tp.committed.offset, tp.committed.metadata)]
        if (tp.committed !== null && tp.committed.offset > fetchedFrom) done.unshift([fetchedFrom, tp.committed.offset])
        this.workers.set(partitionKey(tp), this.createWorker(tp, route, done))
      }
    }
    // One line per rebalance: what went, what came, what is owned now (the first join is the app's "started" line).
    const since = this.handOffs.takeSinceAssign()
    if (!firstJoin) {
      const status = this.options.consumer.status?.()
      this.options.logger.info(
        {
          revoked: describe(since.revoked),
          ...(since.lost.length > 0 ? { lost: describe(since.lost) } : {}),
          added: describe(partitions),
          owned: describe(this.ownedPartitions),
          ...(status === undefined ? {} : { generationId: status.generationId }),
        },
        'rebalanced',
      )
    }
    publish('assigned', () => ({ groupId: this.options.config.groupId, partitions }))
  }

  /** Every delivery in use, once each (routes may share one). */
  get deliveriesInUse(): Delivery[] {
    return this.deliveries.inUse
  }

  private route(batch: FetchedBatch): void {
    // Batches of partitions not owned (any more) are dropped unregistered: the owner fetches them.
    const worker = this.workers.get(partitionKey(batch))
    if (worker === undefined) return
    worker.enqueue(batch)
    this.updateLag(worker)
  }

  private createWorker(tp: TopicPartition, route: Route, doneByPreviousOwner: readonly OffsetRange[], afterSeek?: { predecessor: PartitionWorker; pausedByUser: boolean }): PartitionWorker {
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
      hold: this.deliveries.hold(route, tp),
      pause: () => this.options.consumer.pause([tp]),
      resume: () => this.options.consumer.resume([tp]),
      redispatchDelayMs: this.options.redispatchDelayMs ?? 1000,
      doneByPreviousOwner,
      seek: (offset) => void this.seek(tp, offset).catch((error: unknown) => logger.warn({ err: error, partition: `${tp.topic}[${tp.partition}]` }, 'ctx.seek failed')),
      ...(afterSeek === undefined ? {} : { afterSeek }),
      observer: {
        settled: (work: Work, outcome: WorkOutcome, durationMs: number, error: unknown) => {
          this.settledCount++
          if (outcome === 'done') this.committer.workCompleted()
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

  /**
   * A partition leaves this instance: its lag and committed-offset series go with it. Left behind,
   * they would report the last lag this instance saw forever, and a sum over instances would never
   * drop to the real lag.
   */
  private retire(worker: PartitionWorker): void {
    this.workers.delete(partitionKey(worker))
    const labels = { topic: worker.topic, partition: String(worker.partition) }
    this.options.metrics?.lag.remove(labels)
    this.options.metrics?.committedOffset.remove(labels)
  }

  private updateLag(worker: PartitionWorker): void {
    const committable = worker.tracker.committable()
    if (this.options.metrics === undefined || worker.highWatermark === undefined || committable === undefined) return
    const lag = worker.highWatermark > committable ? worker.highWatermark - committable : 0n
    this.options.metrics.lag.set({ topic: worker.topic, partition: String(worker.partition) }, Number(lag))
  }
}
