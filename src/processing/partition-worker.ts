/**
 * One worker per assigned partition: its queue, its dispatch order, its offset tracker and its part
 * of the hand-off. A worker lives for one ownership of its partition; a partition assigned again
 * gets a new worker, so late results of the old one can never touch the new one's offsets.
 *
 * States: `active` (dispatching) → `revoking` (no new dispatch; in-flight work may finish and is
 * still marked done) → `closed` (aborted or handed off; results arriving now are ignored).
 */
import type { FetchedBatch, FetchedRecord } from './consumer-port.js'
import type { WorkContext, PartitionState } from './context.js'
import { ProcessingAbortedError } from './errors.js'
import type { Context, Step, Work } from './handler.js'
import { KeyQueue } from './key-queue.js'
import type { ConcurrencyLimiter } from './limiter.js'
import { OffsetTracker } from './offset-tracker.js'

export type ConcurrencyMode = 'partition' | 'key'
export type WorkerState = 'active' | 'revoking' | 'closed'
export type WorkOutcome = 'done' | 'failed' | 'aborted'

/**
 * A chain split at its failure path: `attempt` is what every record runs (middleware and handler),
 * `recover` (retries, then dead letters or skipping) runs only when `attempt` rejects, and the
 * work's outcome is then `recover`'s. Together they behave as the whole chain, but a record that
 * succeeds settles straight from its handler's promise instead of through a promise per layer.
 */
export interface SplitStep {
  readonly attempt: Step
  readonly recover: (work: Work, ctx: Context, error: unknown) => Promise<void>
}

export interface WorkerObserver {
  settled(work: Work, outcome: WorkOutcome, durationMs: number, error: unknown): void
  /** False when nothing reads `durationMs` (no metrics): the worker then skips the clock and passes 0. Default true. */
  readonly measuresDuration?: boolean
  inFlightChanged(delta: number): void
  /** Bookkeeping broke (a bug, not a handler failure): the app must stop rather than commit wrongly. */
  internalError(error: Error): void
}

export interface PartitionWorkerOptions {
  readonly topic: string
  readonly partition: number
  /** `partition`: one record at a time, in offset order. `key`: records of different keys concurrently, each key in order. */
  readonly mode: ConcurrencyMode
  /** Set for batch handlers: up to this many queued records per call (partition mode only). */
  readonly batchSize: number | undefined
  /** Fetching pauses at this many queued records and resumes at half of it. */
  readonly maxQueued: number
  readonly limiter: ConcurrencyLimiter
  readonly step: Step
  /**
   * Used instead of `step` in partition mode, where one record runs at a time and the schedule of
   * promise turns changes no outcome. Key mode keeps the whole chain: there the order in which
   * concurrent keys settle decides which queued records a hand-off leaves to the next owner.
   */
  readonly split?: SplitStep | undefined
  readonly makeContext: (work: Work, state: PartitionState) => WorkContext
  readonly pause: () => void
  readonly resume: () => void
  readonly observer: WorkerObserver
  /** Delay before work that failed outside the retry/dead-letter path is dispatched again. */
  readonly redispatchDelayMs: number
}

interface Running {
  readonly work: Work
  readonly key: string | undefined
  readonly ctx: WorkContext
  readonly startedAt: number
  released: boolean
}

export class PartitionWorker implements PartitionState {
  readonly tracker = new OffsetTracker()
  readonly topic: string
  readonly partition: number
  /** The last offset committed for this ownership. */
  committed: bigint | undefined
  highWatermark: bigint | undefined

  private state: WorkerState = 'active'
  /** Partition mode's queue, in offset order, read from `queueHead` (no shifting per record). */
  private queue: FetchedRecord[] = []
  private queueHead = 0
  /** Key mode's queue. */
  private readonly keyed = new KeyQueue()
  private readonly running = new Set<Running>()
  private readonly abortController = new AbortController()
  private readonly revokingController = new AbortController()
  private paused = false
  private waitingForSlot = false
  /** Failed work waiting to be dispatched again. */
  private held = 0
  private readonly idleWaiters: (() => void)[] = []
  private readonly timers = new Set<NodeJS.Timeout>()

  /** Set in partition mode when the chain comes split: its fast path (see `start`). */
  private readonly split: SplitStep | undefined
  private readonly timed: boolean
  /** Partition mode's fast path: the work now running and the callbacks that settle it. */
  private current: Running | undefined
  private readonly currentDone: () => void
  private readonly currentFailed: (error: unknown) => void

  constructor(private readonly options: PartitionWorkerOptions) {
    this.topic = options.topic
    this.partition = options.partition
    this.split = options.mode === 'partition' ? options.split : undefined
    this.timed = options.observer.measuresDuration ?? true
    const settleFailure = (entry: Running, error: unknown): void => this.settleSafely(entry, error ?? new Error('handler rejected without a reason'))
    this.currentDone = () => this.settleSafely(this.current as Running, undefined)
    this.currentFailed = (error) => {
      const entry = this.current as Running
      const split = this.split as SplitStep
      split.recover(entry.work, entry.ctx, error).then(
        () => this.settleSafely(entry, undefined),
        (failure: unknown) => settleFailure(entry, failure),
      )
    }
  }

  get signal(): AbortSignal {
    return this.abortController.signal
  }

  get revokingSignal(): AbortSignal {
    return this.revokingController.signal
  }

  get currentState(): WorkerState {
    return this.state
  }

  get inFlight(): number {
    return this.running.size
  }

  get queued(): number {
    return this.options.mode === 'key' ? this.keyed.size : this.queue.length - this.queueHead
  }

  /** Takes a fetched batch. Records arriving after dispatch stopped are not registered, so they stay uncommitted. */
  enqueue(batch: FetchedBatch): void {
    if (this.state !== 'active') return
    this.highWatermark = batch.highWatermark
    const byKey = this.options.mode === 'key'
    for (const record of batch.records) {
      if (!this.tracker.receive(record.offset)) continue
      if (byKey) this.keyed.push(record)
      else this.queue.push(record)
    }
    this.tracker.advanceTo(batch.nextOffset)
    if (!this.paused && this.queued >= this.options.maxQueued) {
      this.paused = true
      this.options.pause()
    }
    this.pump()
  }

  /** Hand-off step 1: dispatch nothing more and tell in-flight handlers through `ctx.revoking`. */
  beginRevoke(): void {
    if (this.state !== 'active') return
    this.state = 'revoking'
    // Queued records were received but never run: they stay unfinished in the tracker, so the
    // commit stops at the first of them and the next owner starts there.
    this.queue = []
    this.queueHead = 0
    this.keyed.clear()
    this.clearTimers()
    this.revokingController.abort()
  }

  /** Resolves once no handler of this worker is running (at once if none is). */
  idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  /**
   * Hand-off step 3 (and the whole of `onLost`): abort what still runs. Its records are not marked
   * done, whatever their handlers do later. Their concurrency slots are freed now: a handler that
   * ignores its signal must not hold a slot forever.
   */
  close(reason?: ProcessingAbortedError): void {
    if (this.state === 'closed') return
    if (this.state === 'active') this.beginRevoke()
    this.state = 'closed'
    // A drained worker is retired without firing its signal: there is nothing left to abort.
    if (this.running.size > 0) this.abortController.abort(reason ?? new ProcessingAbortedError('PROCESSING_FORCED_STOP', 'the worker was closed'))
    for (const entry of this.running) this.release(entry)
    this.running.clear()
    this.notifyIdle()
  }

  private pump(): void {
    if (this.state !== 'active') return
    if (this.options.mode === 'key') this.pumpByKey()
    else this.pumpInOrder()
    if (this.paused && this.queued <= this.options.maxQueued >> 1) {
      this.paused = false
      this.options.resume()
    }
  }

  private pumpInOrder(): void {
    if (this.queueHead >= this.queue.length || this.running.size > 0 || this.held > 0 || !this.acquire()) return
    const end = Math.min(this.queue.length, this.queueHead + (this.options.batchSize ?? 1))
    const records = end === this.queueHead + 1 ? [this.queue[this.queueHead] as FetchedRecord] : this.queue.slice(this.queueHead, end)
    this.queueHead = end
    if (this.queueHead === this.queue.length) {
      this.queue = []
      this.queueHead = 0
    } else if (this.queueHead >= 1024 && this.queueHead * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.queueHead)
      this.queueHead = 0
    }
    this.start(records, undefined)
  }

  private pumpByKey(): void {
    while (this.keyed.hasReady && this.acquire()) {
      const next = this.keyed.take() as { key: string | undefined; record: FetchedRecord }
      this.start([next.record], next.key)
    }
  }

  private acquire(): boolean {
    if (this.options.limiter.tryAcquire()) return true
    if (!this.waitingForSlot) {
      this.waitingForSlot = true
      this.options.limiter.whenAvailable(() => {
        this.waitingForSlot = false
        // The slot freed for us may find us closed; hand it on by asking for none.
        this.pump()
      })
    }
    return false
  }

  private start(records: FetchedRecord[], key: string | undefined): void {
    const work: Work = { topic: this.topic, partition: this.partition, records }
    const ctx = this.options.makeContext(work, this)
    const entry: Running = { work, key, ctx, startedAt: this.timed ? performance.now() : 0, released: false }
    this.running.add(entry)
    this.options.observer.inFlightChanged(1)
    const split = this.split
    let outcome: Promise<void>
    try {
      outcome = split === undefined ? this.options.step(work, ctx) : split.attempt(work, ctx)
    } catch (error) {
      outcome = Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    if (split === undefined) {
      outcome.then(
        () => this.settleSafely(entry, undefined),
        (error: unknown) => this.settleSafely(entry, error ?? new Error('handler rejected without a reason')),
      )
      return
    }
    // Partition mode: this is the only unsettled work of the worker (nothing starts while work runs,
    // and nothing at all once closed), so the callbacks made once in the constructor find it here
    // instead of a closure per record.
    this.current = entry
    outcome.then(this.currentDone, this.currentFailed)
  }

  private settleSafely(entry: Running, error: unknown): void {
    try {
      this.settle(entry, error)
    } catch (bug) {
      this.options.observer.internalError(bug as Error)
    }
  }

  private settle(entry: Running, error: unknown): void {
    const durationMs = this.timed ? performance.now() - entry.startedAt : 0
    if (entry.released) {
      // Closed while it ran: whatever it did, its records stay undone.
      this.options.observer.settled(entry.work, 'aborted', durationMs, error)
      return
    }
    this.running.delete(entry)
    this.release(entry)
    const redispatch = error !== undefined && !(error instanceof ProcessingAbortedError) && this.state === 'active'
    // Work that will run again keeps its key (or, in order mode, the partition) blocked until it does.
    if (!redispatch && this.options.mode === 'key') this.keyed.finished(entry.key)
    if (error === undefined) {
      for (const record of entry.work.records) this.tracker.markDone(record.offset)
      this.options.observer.settled(entry.work, 'done', durationMs, undefined)
    } else if (error instanceof ProcessingAbortedError || this.state !== 'active') {
      this.options.observer.settled(entry.work, 'aborted', durationMs, error)
    } else {
      // The retry and dead-letter middleware normally absorb failures; this one escaped them (custom
      // middleware threw, or there is none). Run it again later rather than block or skip it.
      this.options.observer.settled(entry.work, 'failed', durationMs, error)
      this.redispatchLater(entry)
    }
    if (this.running.size === 0) this.notifyIdle()
    this.pump()
  }

  private redispatchLater(entry: Running): void {
    this.held++
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.held--
      if (this.state !== 'active') return
      if (this.options.mode === 'key') this.keyed.putBack(entry.key, entry.work.records)
      else {
        this.queue = [...entry.work.records, ...this.queue.slice(this.queueHead)]
        this.queueHead = 0
      }
      this.pump()
    }, this.options.redispatchDelayMs)
    this.timers.add(timer)
  }

  private release(entry: Running): void {
    if (entry.released) return
    entry.released = true
    this.options.observer.inFlightChanged(-1)
    this.options.limiter.release()
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0) return
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.held = 0
  }
}
