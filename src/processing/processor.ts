/**
 * The engine under `app.run()`: it owns the partition workers, routes fetched batches to them,
 * commits on an interval, and carries out the hand-off when the consumer revokes or loses
 * partitions.
 *
 * The hand-off on revocation and loss is described once, in README.md ("The hand-off"): `handOff`
 * carries out its five steps, `lost` the short form.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { AssignedPartition, ConsumerEvents, ConsumerPort, FetchedBatch, OffsetToCommit, ProducedRecord, SeekOffset, TopicPartition } from './consumer-port.js'
import { PartitionNotOwnedError, partitionKey } from '../client/index.js'
import type { ResolvedAppConfig, ResolvedTopicConfig } from './config.js'
import { AtLeastOnceDelivery } from './delivery/at-least-once.js'
import type { CommitReason, Delivery } from './delivery/types.js'
import { AppStateError, BrokersUnreachableError, CommitMetadataTooLargeError, ConfigError, ProcessingAbortedError, StaleGenerationError } from './errors.js'
import type { Chain, Work } from './handler.js'
import { publish, type ProcessingMetrics } from './instrumentation.js'
import { ConcurrencyLimiter, EventLoopTurns } from './limiter.js'
import { decodeDoneRanges, DEFAULT_METADATA_BYTES, type OffsetRange } from './offset-metadata.js'
import type { Logger } from './logger.js'
import { PartitionWorker, type PartitionWorkerOptions, type WorkOutcome } from './partition-worker.js'
import { routeFor, subscriptionOf } from './subscription.js'

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

export interface HandOffResult {
  /** Handlers aborted at the deadline; their records will be processed again. */
  readonly aborted: number
  readonly commitError: Error | undefined
  /** Offsets done but not committed (the commit failed or the deadline passed): their records will be processed again. */
  readonly uncommitted: readonly OffsetToCommit[]
}

/** After the drain, how long a stop may take to commit and leave the group before it gives up on them. */
export const CLOSE_GRACE_MS = 5000
/** A group step that takes longer than this is logged, with what it waits for, and again at this interval. */
export const WAIT_LOG_MS = 5000

/** After a commit made as work completed failed, the next one waits this long: a broker that is down is not asked again at every completion. */
const COMPLETION_COMMIT_BACKOFF_MS = 1000

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
  private watchTimer: NodeJS.Timeout | undefined
  /** Set by the first assignment: the member has joined the group. */
  private joined = false
  private joinWaiter: (() => void) | undefined
  private fatal = false
  /** Since when the group has been in a step that is not stable; undefined while stable. */
  private waitingSince: number | undefined
  private waitLoggedAt = 0
  /** Bytes of metadata a commit may carry per partition; lowered when the broker allows less. */
  private metadataBudget = DEFAULT_METADATA_BYTES
  private readonly defaultDelivery: Delivery
  private readonly deliveries = new Map<Route, Delivery>()
  /** Commits as work completes: one in flight at a time; completions meanwhile ask for the next. */
  private completionCommitRunning = false
  private completionCommitWanted = false

  constructor(private readonly options: ProcessorOptions) {
    this.limiter = new ConcurrencyLimiter(options.config.concurrency)
    this.defaultDelivery = new AtLeastOnceDelivery(options.consumer)
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
        await this.handOff(partitions, 'rebalance', this.options.config.drainTimeoutMs)
      },
      onLost: (partitions) => this.lose(partitions),
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
      this.options.logger.error({ err: error, groupId: this.options.config.groupId }, error.message)
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
  /** Revoked and lost since the last assignment, for the one log line per rebalance. */
  private revokedSinceAssign: TopicPartition[] = []
  private lostSinceAssign: TopicPartition[] = []

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
    const result = await this.handOff(owned, 'shutdown', this.options.config.shutdownTimeoutMs, deadline)
    if (!(await settlesWithin(Promise.all(this.handOffs), left()))) {
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
  async commitOwned(reason: CommitReason = 'interval'): Promise<boolean> {
    try {
      await this.commit(() => [...this.workers.values()], reason)
      return true
    } catch (error) {
      // A stale generation means a rebalance is under way; its revocation commits for us.
      if (error instanceof StaleGenerationError) this.options.logger.debug({ err: error, reason }, 'commit skipped: the group is rebalancing')
      else this.options.logger.warn({ err: error, reason }, reason === 'interval' ? 'commit failed; it is retried at the next interval' : 'commit failed; it is retried as work completes')
      return false
    }
  }

  /**
   * Commit as work completes (`commitIntervalMs: 0`, the default): at most one commit in flight,
   * and the next one, asked for by any completion meanwhile, carries everything finished since.
   * After a crash only the records finished within about one commit round trip run again.
   */
  private requestCommit(): void {
    if (this.options.config.commitIntervalMs > 0 || this.stopping) return
    if (this.completionCommitRunning) {
      this.completionCommitWanted = true
      return
    }
    this.completionCommitRunning = true
    // The next turn, so that a burst of completions in this one goes in a single commit.
    setImmediate(() => void this.commitAsCompleted())
  }

  private async commitAsCompleted(): Promise<void> {
    do {
      this.completionCommitWanted = false
      if (this.stopping) break
      // A delivery that batches (transactional) holds the commit until its batch is full or old enough.
      await this.batchWindows()
      if (this.stopping) break
      if (!(await this.commitOwned('completion'))) {
        await delay(COMPLETION_COMMIT_BACKOFF_MS, undefined, { ref: false })
        // Try again while the failed commit's work is still not committed: no completion may come
        // to ask (the partition's last records, or workers held back by their delivery), and a
        // commit refused by a rebalance is accepted under the next generation. A transactional
        // route's outputs stay invisible until then.
        const workers = [...this.workers.values()]
        if (workers.some((w) => w.isHeldBack) || this.offsetsToCommit(workers).length > 0) this.completionCommitWanted = true
      }
    } while (this.completionCommitWanted)
    this.completionCommitRunning = false
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

  /**
   * The application's seek (`app.seek`, `ctx.seek`; README "Seek"). At once: the partition's
   * worker stops as on a revocation (nothing more starts, its queue is dropped, `ctx.revoking`
   * for its running handlers) and a new worker starting at the target takes its place. Then the
   * old handlers get `drainTimeoutMs` to settle (they are aborted after it), the new worker starts
   * and its position, the target, is committed. Resolves after that commit (a failed one is
   * logged and retried with the next). Throws `PartitionNotOwnedError` for a partition not owned,
   * or being revoked.
   */
  seek(tp: TopicPartition, offset: SeekOffset): Promise<void> {
    const key = partitionKey(tp)
    const old = this.workers.get(key)
    if (this.stopping) throw new AppStateError(`cannot seek ${tp.topic}[${tp.partition}]: the app is stopping`)
    if (old === undefined || old.state !== 'active') {
      throw new PartitionNotOwnedError(tp.topic, tp.partition, 'seek', 'seek a partition this instance owns now: from its handler with ctx.seek(), or after it was assigned')
    }
    const port = this.options.consumer
    if (port.seek === undefined) throw new ConfigError('consumer', 'the consumer passed to baton() has no seek(); implement ConsumerPort.seek to seek partitions')
    if (typeof offset === 'bigint' ? offset < 0n : offset !== 'earliest' && offset !== 'latest') {
      throw new ConfigError('seek offset', `give a non-negative bigint, 'earliest' or 'latest', got ${String(offset)}`)
    }
    const route = routeFor(this.options.routes, tp.topic) as Route
    const mode = this.deliveryOf(route).mode
    if (mode !== 'at-least-once') {
      // A transactional or store route's position lives with its outputs (held, or in the
      // application's database); moving it alone would write them twice or skip them.
      throw new ConfigError(
        'seek',
        `${tp.topic}[${tp.partition}] is consumed with delivery '${mode}', where a seek is not supported: stop the app and move the group's offsets ` +
          `(baton groups reset-offsets${mode === 'store' ? ', and the offset row in the store table' : ''}), or consume the topic with delivery 'at-least-once'`,
      )
    }
    // A seek to an offset reaches the consumer at once (the port throws, before anything changed here, if it no longer owns the partition).
    if (typeof offset === 'bigint') port.seek(tp, offset)
    const fetchPaused = old.fetchPaused
    old.beginRevoke()
    const fresh = this.createWorker(tp, route, [], { predecessor: old, pausedByUser: old.isPausedByUser })
    this.workers.set(key, fresh)
    if (typeof offset === 'bigint') fresh.positionAt(offset)
    // The old queue, full or not, is gone: fetching of the partition goes on.
    if (fetchPaused) port.resume([tp])
    return this.completeSeek(fresh, tp, offset)
  }

  private async completeSeek(fresh: PartitionWorker, tp: TopicPartition, offset: SeekOffset): Promise<void> {
    const current = (): boolean => this.workers.get(partitionKey(tp)) === fresh && fresh.state === 'active'
    let target = typeof offset === 'bigint' ? offset : undefined
    if (typeof offset !== 'bigint') {
      // The log's start or end as an offset, so that the new position is committed at once.
      try {
        target = await this.options.consumer.offsetOf?.(tp, offset)
      } catch (error) {
        this.options.logger.warn({ err: error, partition: `${tp.topic}[${tp.partition}]`, offset }, `could not look up the ${offset} offset; seeking there without it, committed once records arrive`)
      }
      if (!current()) return
      try {
        this.options.consumer.seek?.(tp, target ?? offset)
      } catch (error) {
        // The consumer let go of the partition meanwhile: its hand-off is under way.
        this.options.logger.warn({ err: error, partition: `${tp.topic}[${tp.partition}]`, offset }, 'seek abandoned: the partition is being revoked')
        return
      }
      fresh.positionAt(target)
    }
    const { drainTimeoutMs } = this.options.config
    let aborted = 0
    if (!(await settlesWithin(fresh.predecessorsIdle(), drainTimeoutMs))) {
      aborted = fresh.abortPredecessors(
        new ProcessingAbortedError('PROCESSING_DRAIN_TIMEOUT', `${tp.topic}[${tp.partition}] was seeked and its handlers from before did not settle within drainTimeoutMs (${drainTimeoutMs} ms)`),
      )
    }
    if (!current()) return
    fresh.startAfterSeek()
    this.options.logger.info({ partition: `${tp.topic}[${tp.partition}]`, offset: String(target ?? offset), aborted }, 'seek done: processing continues from the target')
    try {
      await this.commit(() => (current() ? [fresh] : []), 'seek')
    } catch (error) {
      this.options.logger.warn({ err: error, partition: `${tp.topic}[${tp.partition}]` }, "the seek's commit failed; the next commit carries the new position")
    }
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
    for (const [route, tps] of this.byRoute(assigned)) {
      if (route === undefined) {
        for (const tp of tps) this.options.logger.warn({ topic: tp.topic, partition: tp.partition }, 'assigned a partition of a topic with no handler; ignoring it')
        continue
      }
      const fresh = tps.filter((tp) => this.workers.get(partitionKey(tp))?.state !== 'active')
      const delivery = this.deliveryOf(route)
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
    if (!firstJoin) {
      const status = this.options.consumer.status?.()
      this.options.logger.info(
        {
          revoked: describe(this.revokedSinceAssign),
          ...(this.lostSinceAssign.length > 0 ? { lost: describe(this.lostSinceAssign) } : {}),
          added: describe(partitions),
          owned: describe(this.ownedPartitions),
          ...(status === undefined ? {} : { generationId: status.generationId }),
        },
        'rebalanced',
      )
    }
    this.revokedSinceAssign = []
    this.lostSinceAssign = []
    publish('assigned', () => ({ groupId: this.options.config.groupId, partitions }))
  }

  /** Partitions grouped by the route that handles them (undefined: no route does). */
  private byRoute<T extends TopicPartition>(partitions: readonly T[]): Map<Route | undefined, T[]> {
    const groups = new Map<Route | undefined, T[]>()
    for (const tp of partitions) {
      const route = routeFor(this.options.routes, tp.topic)
      const group = groups.get(route)
      if (group === undefined) groups.set(route, [tp])
      else group.push(tp)
    }
    return groups
  }

  private deliveryOf(route: Route): Delivery {
    let delivery = this.deliveries.get(route)
    if (delivery === undefined) {
      delivery = this.options.deliveryFor?.(route) ?? this.defaultDelivery
      this.deliveries.set(route, delivery)
    }
    return delivery
  }

  private async batchWindows(): Promise<void> {
    for (const delivery of this.deliveriesInUse) if (delivery.batchWindow !== undefined) await delivery.batchWindow()
  }

  /** Every delivery in use, once each (routes may share one). */
  get deliveriesInUse(): Delivery[] {
    return [...new Set(this.deliveries.values())]
  }

  private route(batch: FetchedBatch): void {
    // Batches of partitions not owned (any more) are dropped unregistered: the owner fetches them.
    const worker = this.workers.get(partitionKey(batch))
    if (worker === undefined) return
    worker.enqueue(batch)
    this.updateLag(worker)
  }

  private handOff(partitions: readonly TopicPartition[], reason: 'rebalance' | 'shutdown', deadlineMs: number, stopDeadline?: number): Promise<HandOffResult> {
    const run = this.runHandOff(partitions, reason, deadlineMs, stopDeadline)
    this.handOffs.add(run)
    const forget = (): void => void this.handOffs.delete(run)
    run.then(forget, forget)
    return run
  }

  private async runHandOff(partitions: readonly TopicPartition[], reason: 'rebalance' | 'shutdown', deadlineMs: number, stopDeadline?: number): Promise<HandOffResult> {
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
    if (workers.length === 0) return { aborted: 0, commitError: undefined, uncommitted: [] }
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
    // A worker lost during the drain is gone from the map: its generation ended, so no commit for it.
    const stillOwned = () => workers.filter((w) => this.workers.get(partitionKey(w)) === w)
    const wanted = this.offsetsToCommit(stillOwned())
    let uncommitted: readonly OffsetToCommit[] = []
    try {
      const commit = this.commit(stillOwned, reason === 'rebalance' ? 'rebalance' : 'shutdown')
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
      this.options.logger.warn(
        { err: error, uncommitted: uncommitted.map(describeOffset) },
        `commit on ${reason === 'rebalance' ? 'revocation' : 'stop'} failed; the records done since the last commit of these partitions will be processed again`,
      )
    }
    for (const worker of workers) {
      worker.close()
      if (this.workers.get(partitionKey(worker)) === worker) this.retire(worker)
    }
    await this.tellDeliveries(workers, 'released')
    const durationMs = performance.now() - startedAt
    this.options.metrics?.rebalanceDuration.observe({ kind: 'revoke' }, durationMs / 1000)
    if (reason === 'rebalance') this.revokedSinceAssign.push(...partitions)
    this.options.logger.info(
      { revoked: describe(partitions), committed: committed.map(describeOffset), durationMs: Math.round(durationMs), aborted, reason, owned: describe(this.ownedPartitions) },
      reason === 'rebalance' ? 'partitions revoked' : 'partitions handed off for the stop',
    )
    publish('revoked', () => ({ groupId, partitions, reason, durationMs, aborted, committed, commitError }))
    return { aborted, commitError, uncommitted }
  }

  private async lose(partitions: readonly TopicPartition[]): Promise<void> {
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
      this.retire(worker)
    }
    this.options.metrics?.rebalances.inc({ kind: 'lost' })
    this.options.metrics?.rebalanceDuration.observe({ kind: 'lost' }, (performance.now() - startedAt) / 1000)
    this.lostSinceAssign.push(...partitions)
    this.options.logger.warn({ lost: describe(partitions), aborted, owned: describe(this.ownedPartitions) }, 'partitions lost; nothing committed for them')
    publish('lost', () => ({ groupId: this.options.config.groupId, partitions, aborted }))
    await this.tellDeliveries(partitions, 'lost')
  }

  /** Partitions left this member (lost, or released after their hand-off): each delivery lets go of what it holds for them. */
  private async tellDeliveries(partitions: readonly TopicPartition[], what: 'lost' | 'released'): Promise<void> {
    for (const [route, tps] of this.byRoute(partitions.map(({ topic, partition }) => ({ topic, partition })))) {
      const delivery = route === undefined ? undefined : this.deliveryOf(route)
      try {
        await (what === 'lost' ? delivery?.lost?.(tps) : delivery?.released?.(tps))
      } catch (error) {
        this.options.logger.warn({ err: error, partitions: describe(tps), delivery: delivery?.mode }, `the delivery failed to let go of ${what} partitions`)
      }
    }
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
        if (offsets.length === 0) {
          for (const worker of this.workers.values()) worker.commitTookHeldWork()
          return offsets
        }
        try {
          await this.deliver(offsets, reason)
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
      for (const worker of this.workers.values()) worker.commitTookHeldWork()
      for (const worker of workers) {
        const committed = byPartition.get(partitionKey(worker))
        if (committed === undefined) continue
        worker.markCommitted(committed)
        // A partition given away while the commit was on the wire has no series any more.
        if (this.workers.get(partitionKey(worker)) !== worker) continue
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

  /** Each delivery commits its routes' offsets; all of them at once. */
  private async deliver(offsets: readonly OffsetToCommit[], reason: CommitReason): Promise<void> {
    const groups = this.byRoute(offsets)
    if (groups.size === 1) {
      const [route] = groups.keys()
      await (route === undefined ? this.defaultDelivery : this.deliveryOf(route)).commit(offsets, reason)
      return
    }
    const byDelivery = new Map<Delivery, OffsetToCommit[]>()
    for (const [route, group] of groups) {
      const delivery = route === undefined ? this.defaultDelivery : this.deliveryOf(route)
      byDelivery.set(delivery, [...(byDelivery.get(delivery) ?? []), ...group])
    }
    const results = await Promise.allSettled([...byDelivery].map(([delivery, group]) => delivery.commit(group, reason)))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    // What the other deliveries stored is committed again next time, which changes nothing.
    if (failed !== undefined) throw failed.reason
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
      hold: holding(this.deliveryOf(route), tp),
      pause: () => this.options.consumer.pause([tp]),
      resume: () => this.options.consumer.resume([tp]),
      redispatchDelayMs: this.options.redispatchDelayMs ?? 1000,
      doneByPreviousOwner,
      seek: (offset) => void this.seek(tp, offset).catch((error: unknown) => logger.warn({ err: error, partition: `${tp.topic}[${tp.partition}]` }, 'ctx.seek failed')),
      ...(afterSeek === undefined ? {} : { afterSeek }),
      observer: {
        settled: (work: Work, outcome: WorkOutcome, durationMs: number, error: unknown) => {
          this.settledCount++
          if (outcome === 'done') this.requestCommit()
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

/** A delivery that writes outputs itself gets each done job's; undefined for the others. */
function holding(delivery: Delivery, tp: TopicPartition): PartitionWorkerOptions['hold'] {
  if (delivery.hold === undefined) return undefined
  const at = { topic: tp.topic, partition: tp.partition }
  return (offsets, outputs) => delivery.hold?.(at, offsets, outputs) ?? true
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

function describeOffset(o: OffsetToCommit): string {
  return `${o.topic}[${o.partition}]@${o.offset}`
}
