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
import type { Step, Work } from './handler.js'
import { KeyQueue } from './key-queue.js'
import type { ConcurrencyLimiter } from './limiter.js'
import { OffsetTracker } from './offset-tracker.js'

export type ConcurrencyMode = 'partition' | 'key'
export type WorkerState = 'active' | 'revoking' | 'closed'
export type WorkOutcome = 'done' | 'failed' | 'aborted'

export interface WorkerObserver {
  settled(work: Work, outcome: WorkOutcome, durationMs: number, error: unknown): void
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

  constructor(private readonly options: PartitionWorkerOptions) {
    this.topic = options.topic
    this.partition = options.partition
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
    const records = this.queue.slice(this.queueHead, end)
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
    const entry: Running = { work, key, released: false }
    this.running.add(entry)
    this.options.observer.inFlightChanged(1)
    const ctx = this.options.makeContext(work, this)
    const startedAt = performance.now()
    let outcome: Promise<void>
    try {
      outcome = this.options.step(work, ctx)
    } catch (error) {
      outcome = Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    outcome.then(
      () => this.settleSafely(entry, undefined, startedAt),
      (error: unknown) => this.settleSafely(entry, error ?? new Error('handler rejected without a reason'), startedAt),
    )
  }

  private settleSafely(entry: Running, error: unknown, startedAt: number): void {
    try {
      this.settle(entry, error, startedAt)
    } catch (bug) {
      this.options.observer.internalError(bug as Error)
    }
  }

  private settle(entry: Running, error: unknown, startedAt: number): void {
    const durationMs = performance.now() - startedAt
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
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }

  private clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.held = 0
  }
}
