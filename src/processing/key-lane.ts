/**
 * Key mode: records of different keys run concurrently, each key's in offset order (`KeyQueue`
 * decides what is ready). Jobs settle in any order; the worker's tracker keeps the commit below
 * the first one not done.
 */
import type { FetchedRecord } from './consumer-port.js'
import { invoke } from './handler.js'
import { Job } from './job.js'
import { KeyQueue } from './key-queue.js'
import { recoverJob, rejectedWithoutReason, type Lane, type LaneHost } from './lane.js'

export class KeyLane implements Lane {
  private readonly keyed = new KeyQueue()
  private readonly running = new Set<Job>()
  private waitingForSlot = false
  private waitingForTurn = false

  constructor(private readonly host: LaneHost) {}

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
    if (!this.host.dispatching || this.waitingForTurn) return
    const turns = this.host.turns
    while (this.keyed.hasReady) {
      if (turns.due()) {
        this.waitingForTurn = true
        void turns.turn().then(() => {
          this.waitingForTurn = false
          this.pump()
        })
        break
      }
      if (!this.acquire()) break
      const next = this.keyed.take() as { key: string | undefined; record: FetchedRecord }
      this.start(new Job(this.host, next.record, undefined, next.key))
    }
    this.host.dequeued()
  }

  clear(): void {
    this.keyed.clear()
  }

  releaseAll(): void {
    for (const job of this.running) this.host.release(job)
    this.running.clear()
  }

  private acquire(): boolean {
    const limiter = this.host.limiter
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

  private start(job: Job): void {
    this.running.add(job)
    this.host.begin(job)
    invoke(this.host.chain.attempt, job, job).then(
      () => this.settle(job, undefined),
      (error: unknown) => recoverJob(this.host, job, error ?? rejectedWithoutReason()).then((rest) => this.settle(job, rest)),
    )
  }

  private settle(job: Job, error: unknown): void {
    this.running.delete(job)
    const outcome = this.host.complete(job, error)
    // Work that will run again keeps its key blocked until it does.
    if (outcome === 'failed') this.redispatchLater(job)
    else this.keyed.finished(job.key)
    this.pump()
  }

  /** A revocation cuts the delay short and empties the queue: the work then stays undone. */
  private redispatchLater(job: Job): void {
    void this.host.redispatchDelay().then(() => {
      if (this.host.state !== 'active') return
      this.keyed.putBack(job.key, job.records)
      this.pump()
    })
  }
}
