/**
 * Key mode: records of different keys run concurrently, each key's in offset order (`KeyQueue`
 * decides what is ready). Jobs settle in any order; the worker's tracker keeps the commit below
 * the first one not done.
 */
import type { FetchedRecord } from './consumer-port.js'
import { Job } from './job.js'
import { KeyQueue } from './key-queue.js'
import type { Lane, PartitionWorker } from './partition-worker.js'

export class KeyLane implements Lane {
  private readonly keyed = new KeyQueue()
  private readonly running = new Set<Job>()
  private waitingForSlot = false
  private waitingForTurn = false
  /** Failed work waiting to be dispatched again; cleared with the queue. */
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(private readonly worker: PartitionWorker) {}

  get queued(): number {
    return this.keyed.size
  }

  get inFlight(): number {
    return this.running.size
  }

  push(records: readonly FetchedRecord[]): void {
    for (const record of records) this.keyed.push(record)
  }

  pump(): void {
    if (!this.worker.dispatching || this.waitingForTurn) return
    while (this.keyed.hasReady) {
      if (this.worker.options.turns.due()) {
        this.waitingForTurn = true
        void this.worker.options.turns.turn().then(() => {
          this.waitingForTurn = false
          this.pump()
        })
        break
      }
      if (!this.acquire()) break
      const next = this.keyed.take() as { key: string | undefined; record: FetchedRecord }
      this.start(new Job(this.worker, next.record, undefined, next.key))
    }
    this.worker.dequeued()
  }

  clear(): void {
    this.keyed.clear()
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }

  releaseAll(): void {
    for (const job of this.running) this.worker.release(job)
    this.running.clear()
  }

  private acquire(): boolean {
    const limiter = this.worker.options.limiter
    if (limiter.tryAcquire()) return true
    if (!this.waitingForSlot) {
      this.waitingForSlot = true
      limiter.whenAvailable(() => {
        this.waitingForSlot = false
        // The slot freed for us may find us closed; pump then starts nothing.
        this.pump()
      })
    }
    return false
  }

  /**
   * Key mode runs the whole chain rather than the split one: the order in which concurrent keys
   * settle decides which queued records wait behind which, and the whole chain keeps that order as
   * the middleware sees it.
   */
  private start(job: Job): void {
    this.running.add(job)
    this.worker.begin(job)
    let outcome: Promise<void>
    try {
      outcome = this.worker.options.step(job, job)
    } catch (error) {
      outcome = Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    outcome.then(
      () => this.settle(job, undefined),
      (error: unknown) => this.settle(job, error ?? new Error('handler rejected without a reason')),
    )
  }

  private settle(job: Job, error: unknown): void {
    this.running.delete(job)
    const outcome = this.worker.complete(job, error)
    // Work that will run again keeps its key blocked until it does.
    if (outcome === 'failed') this.redispatchLater(job)
    else this.keyed.finished(job.key)
    this.pump()
  }

  private redispatchLater(job: Job): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (!this.worker.active) return
      this.keyed.putBack(job.key, job.records)
      this.pump()
    }, this.worker.options.redispatchDelayMs)
    this.timers.add(timer)
  }
}
