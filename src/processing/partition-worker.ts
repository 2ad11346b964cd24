/**
 * One worker per assigned partition: its offset tracker, its part of the hand-off, and a lane that
 * decides the order records run in (`InOrderLane` for partition mode and batches, `KeyLane` for key
 * mode). A worker lives for one ownership of its partition; a partition assigned again gets a new
 * worker, so late results of the old one can never touch the new one's offsets.
 *
 * States: `active` (dispatching) → `revoking` (no new dispatch; in-flight work may finish and is
 * still marked done) → `closed` (aborted or handed off; results arriving now are ignored).
 *
 * A seek ends a worker too: the processor stops the old one as a revocation does and puts a new
 * worker, whose tracker starts at the target, in its place. The new one holds the old one as its
 * predecessor until the old one's handlers have settled: it dispatches nothing before (so records
 * of a partition, or of a key, never run alongside those from before the seek), and its `idle`,
 * `close` and `inFlight` include the predecessor's, so a hand-off during the seek still drains and
 * aborts everything the partition runs.
 */
import { setMaxListeners } from 'node:events'
import type { FetchedBatch, FetchedRecord, OffsetToCommit, ProducedRecord, SeekOffset } from './consumer-port.js'
import { AppStateError, ProcessingAbortedError } from './errors.js'
import type { Chain, Work } from './handler.js'
import { InOrderLane } from './in-order-lane.js'
import type { Job } from './job.js'
import { KeyLane } from './key-lane.js'
import type { Lane, LaneHost, WorkerState, WorkOutcome } from './lane.js'
import { sleep, type ConcurrencyLimiter, type EventLoopTurns } from './limiter.js'
import type { Logger } from './logger.js'
import { encodeDoneRanges, type OffsetRange } from './offset-metadata.js'
import { OffsetTracker } from './offset-tracker.js'

export type { WorkerState, WorkOutcome } from './lane.js'
export type ConcurrencyMode = 'partition' | 'key'
/** Listeners one running handler may hold on `ctx.signal` (a timer, a request, a child call) before Node warns of a leak. */
const LISTENERS_PER_HANDLER = 4
/** A record that produced nothing hands this to `hold` rather than an array of its own. */
const NO_OUTPUTS: readonly ProducedRecord[] = Object.freeze([])

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
  /** Shared by all workers: when dispatch must let the event loop run. */
  readonly turns: EventLoopTurns
  /** The route's chain, split at its failure path; both lanes run it. */
  readonly chain: Chain
  readonly logger: Logger
  readonly produce: (record: ProducedRecord) => Promise<void>
  /** Transactional mode: receives each done job's outputs (see `Delivery.hold`); `ctx.produce` then holds them. */
  readonly hold?: ((offsets: readonly bigint[], outputs: readonly ProducedRecord[]) => boolean) | undefined
  readonly pause: () => void
  readonly resume: () => void
  readonly observer: WorkerObserver
  /** Delay before work that failed outside the retry/dead-letter path is dispatched again. */
  readonly redispatchDelayMs: number
  /**
   * Offsets above the committed one that the partition's previous owner had already processed
   * (from the commit's metadata): they are marked done as they arrive and never dispatched.
   */
  readonly doneByPreviousOwner?: readonly OffsetRange[]
  /** `ctx.seek`: the processor's seek of this partition (whichever worker is current then). */
  readonly seek?: (offset: SeekOffset) => void
  /** Set for a worker that replaces another after a seek: see the header. */
  readonly afterSeek?: {
    readonly predecessor: PartitionWorker
    /** The application's pause carries over a seek; it ends with the ownership. */
    readonly pausedByUser: boolean
  }
}

export class PartitionWorker implements LaneHost {
  readonly tracker = new OffsetTracker()
  readonly topic: string
  readonly partition: number
  readonly logger: Logger
  readonly produce: (record: ProducedRecord) => Promise<void>
  readonly chain: Chain
  readonly limiter: ConcurrencyLimiter
  readonly turns: EventLoopTurns
  readonly holdsOutputs: boolean
  highWatermark: bigint | undefined

  private currentState: WorkerState = 'active'
  /** What this ownership last committed: the offset, and the metadata ('' for none) that went with it. */
  private committed: { readonly offset: bigint; readonly metadata: string } | undefined
  private readonly lane: Lane
  private readonly abortController = new AbortController()
  private readonly revokingController = new AbortController()
  private paused = false
  private pausedByUser = false
  private heldBack = false
  private readonly idleWaiters: (() => void)[] = []
  /** The worker this one replaced at a seek, until its handlers settled. */
  private predecessor: PartitionWorker | undefined
  /** After a seek: batches are dropped until the target is known (`positionAt`). */
  private awaitingPosition = false
  private readonly timed: boolean
  /** What remains of `doneByPreviousOwner` ahead of the fetch position. */
  private skipRanges: readonly OffsetRange[]

  constructor(private readonly options: PartitionWorkerOptions) {
    this.topic = options.topic
    this.partition = options.partition
    this.logger = options.logger
    this.produce = options.produce
    this.chain = options.chain
    this.limiter = options.limiter
    this.turns = options.turns
    this.holdsOutputs = options.hold !== undefined
    this.timed = options.observer.measuresDuration ?? true
    this.skipRanges = options.doneByPreviousOwner ?? []
    this.lane = options.mode === 'key' ? new KeyLane(this) : new InOrderLane(this, options.batchSize ?? 1)
    if (options.afterSeek !== undefined) {
      this.predecessor = options.afterSeek.predecessor
      this.pausedByUser = options.afterSeek.pausedByUser
      this.awaitingPosition = true
    }
    // Every handler of the partition shares these signals and may pass them on (setTimeout, fetch),
    // each use adding a listener that it removes when done. Up to `capacity` handlers run at once,
    // so Node's warning at 11 listeners would fire on the documented use; the bound stays, a few
    // listeners per running handler, so a handler that never removes its listener is still reported.
    const listeners = Math.max(10, options.limiter.capacity * LISTENERS_PER_HANDLER)
    setMaxListeners(listeners, this.abortController.signal, this.revokingController.signal)
  }

  get signal(): AbortSignal {
    return this.abortController.signal
  }

  get revokingSignal(): AbortSignal {
    return this.revokingController.signal
  }

  get state(): WorkerState {
    return this.currentState
  }

  /** Active and not paused by the application: the lanes start records only while this holds. */
  get dispatching(): boolean {
    return this.state === 'active' && !this.pausedByUser && this.predecessor === undefined && !this.heldBack
  }

  /** The delivery holds enough done work (transactional mode): nothing starts until a commit takes it. */
  get isHeldBack(): boolean {
    return this.heldBack
  }

  /** A commit went through: a worker held back by its delivery starts records again. */
  commitTookHeldWork(): void {
    if (!this.heldBack) return
    this.heldBack = false
    this.lane.pump()
  }

  /**
   * The application's pause (`app.pause`, `ctx.pause`): no record of the partition starts until
   * `resumeByUser`; those running finish. Fetching goes on until the queue is full, then pauses as
   * for any full queue. Ends with the worker (a revocation), as the ownership it was about does.
   */
  pauseByUser(): void {
    this.pausedByUser = true
  }

  resumeByUser(): void {
    if (!this.pausedByUser) return
    this.pausedByUser = false
    this.lane.pump()
  }

  get isPausedByUser(): boolean {
    return this.pausedByUser
  }

  /** Handlers running, the predecessor's included. */
  get inFlight(): number {
    return this.lane.inFlight + (this.predecessor?.inFlight ?? 0)
  }

  get queued(): number {
    return this.lane.queued
  }

  /**
   * What to commit for this partition now, with the records done above the offset (key mode) as
   * metadata for the next owner to skip (within `metadataBytes`); undefined when nothing changed
   * since the last commit.
   */
  toCommit(metadataBytes: number): OffsetToCommit | undefined {
    const offset = this.tracker.committable()
    if (offset === undefined) return undefined
    const metadata = encodeDoneRanges(offset, this.tracker.doneAbove(), metadataBytes)
    if (offset === this.committed?.offset && metadata === this.committed.metadata) return undefined
    return metadata === '' ? { topic: this.topic, partition: this.partition, offset } : { topic: this.topic, partition: this.partition, offset, metadata }
  }

  /** The consumer stored `offset` for this partition. */
  markCommitted(offset: OffsetToCommit): void {
    this.committed = { offset: offset.offset, metadata: offset.metadata ?? '' }
  }

  /** Takes a fetched batch. Records arriving after dispatch stopped are not registered, so they stay uncommitted. */
  enqueue(batch: FetchedBatch): void {
    if (this.currentState !== 'active' || this.awaitingPosition) return
    this.highWatermark = batch.highWatermark
    let records = this.tracker.receive(batch.records, batch.nextOffset)
    if (this.skipRanges.length > 0) records = this.withoutDoneByPreviousOwner(records)
    if (records.length > 0) this.lane.push(records)
    if (!this.paused && this.lane.queued >= this.options.maxQueued) {
      this.paused = true
      this.options.pause()
    }
    this.lane.pump()
  }

  /** Hand-off step 1: dispatch nothing more and tell in-flight handlers through `ctx.revoking`. */
  beginRevoke(): void {
    if (this.currentState !== 'active') return
    this.currentState = 'revoking'
    // Queued records were received but never run: they stay unfinished in the tracker, so the
    // commit stops at the first of them and the next owner starts there.
    this.lane.clear()
    this.revokingController.abort()
  }

  /** Resolves once no handler of this worker (or of its predecessor) is running (at once if none is). */
  async idle(): Promise<void> {
    await this.predecessor?.idle()
    if (this.lane.inFlight === 0) return
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }

  /**
   * Hand-off step 3 (and the whole of `onLost`): abort what still runs. Its records are not marked
   * done, whatever their handlers do later. Their concurrency slots are freed now: a handler that
   * ignores its signal must not hold a slot forever.
   */
  close(reason?: ProcessingAbortedError): void {
    this.predecessor?.close(reason)
    if (this.currentState === 'closed') return
    if (this.currentState === 'active') this.beginRevoke()
    this.currentState = 'closed'
    // A drained worker is retired without firing its signal: there is nothing left to abort.
    if (this.lane.inFlight > 0) this.abortController.abort(reason ?? new ProcessingAbortedError('PROCESSING_FORCED_STOP', 'the worker was closed'))
    this.lane.releaseAll()
    this.notifyIdle()
  }

  // ---- seek: see the header ----

  /** `ctx.seek`, through the processor. */
  seekByUser(offset: SeekOffset): void {
    if (this.options.seek === undefined) throw new AppStateError(`ctx.seek is not available for ${this.topic}[${this.partition}] here: this worker was made without a processor`)
    this.options.seek(offset)
  }

  /** The seek's target is known (undefined: from the first batch that arrives): batches are taken from now on. */
  positionAt(offset: bigint | undefined): void {
    this.awaitingPosition = false
    if (offset !== undefined) this.tracker.advanceTo(offset)
  }

  /** The handlers from before the seek, of every predecessor; settles when they have. */
  predecessorsIdle(): Promise<void> {
    return this.predecessor?.idle() ?? Promise.resolve()
  }

  /** Aborts what the predecessors still run (the seek's drain deadline passed); returns how many. */
  abortPredecessors(reason: ProcessingAbortedError): number {
    const aborted = this.predecessor?.inFlight ?? 0
    this.predecessor?.close(reason)
    return aborted
  }

  /** The predecessors have settled: records from the target on may start. */
  startAfterSeek(): void {
    this.predecessor = undefined
    this.lane.pump()
  }

  /** Fetching of the partition was paused because this worker's queue was full. */
  get fetchPaused(): boolean {
    return this.paused
  }

  // ---- LaneHost: for the lanes ----

  /** A lane started `job` (it holds a concurrency slot). */
  begin(job: Job): void {
    if (this.timed) job.startedAt = performance.now()
    this.options.observer.inFlightChanged(1)
  }

  /**
   * Books the end of a job: `error` undefined means done. Returns what the lane must do next:
   * 'failed' asks it to run the work again later (a failure escaped retries and dead letters).
   */
  complete(job: Job, error: unknown): WorkOutcome {
    const durationMs = this.timed ? performance.now() - job.startedAt : 0
    if (job.released) {
      // Closed while it ran: whatever it did, its records stay undone.
      this.options.observer.settled(job, 'aborted', durationMs, error)
      return 'aborted'
    }
    this.release(job)
    let outcome: WorkOutcome
    if (error === undefined) {
      try {
        if (!job.isBatch) this.tracker.markDone(job.first.offset)
        else for (const record of job.records) this.tracker.markDone(record.offset)
        if (this.options.hold?.(job.isBatch ? job.records.map((r) => r.offset) : [job.first.offset], job.outputs ?? NO_OUTPUTS) === false) this.heldBack = true
      } catch (bug) {
        this.options.observer.internalError(bug as Error)
        return 'aborted'
      }
      outcome = 'done'
    } else if (error instanceof ProcessingAbortedError || this.currentState !== 'active') {
      outcome = 'aborted'
    } else {
      // The retry and dead-letter middleware normally absorb failures; this one escaped them (custom
      // middleware threw, or there is none). Run it again later rather than block or skip it.
      outcome = 'failed'
    }
    this.options.observer.settled(job, outcome, durationMs, error)
    if (this.lane.inFlight === 0) this.notifyIdle()
    return outcome
  }

  /** Records left the queue: fetching resumes once it has drained to half. */
  dequeued(): void {
    if (this.paused && this.lane.queued <= this.options.maxQueued >> 1 && this.currentState === 'active') {
      this.paused = false
      this.options.resume()
    }
  }

  /** Cut short by a revocation, which also empties the queue. */
  redispatchDelay(): Promise<void> {
    return sleep(this.options.redispatchDelayMs, this.revokingSignal).catch(() => undefined)
  }

  /** Gives back a job's slot, once. */
  release(job: Job): void {
    if (job.released) return
    job.released = true
    this.options.observer.inFlightChanged(-1)
    this.options.limiter.release()
  }

  reportBug(error: Error): void {
    this.options.observer.internalError(error)
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0) return
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }

  /** Marks records the previous owner finished as done, and returns the others for dispatch. */
  private withoutDoneByPreviousOwner(records: readonly FetchedRecord[]): readonly FetchedRecord[] {
    const kept: FetchedRecord[] = []
    let ranges = this.skipRanges
    for (const record of records) {
      while (ranges.length > 0 && (ranges[0] as OffsetRange)[1] <= record.offset) ranges = ranges.slice(1)
      const range = ranges[0]
      if (range !== undefined && range[0] <= record.offset) this.tracker.markDone(record.offset)
      else kept.push(record)
    }
    this.skipRanges = ranges
    return kept
  }
}
