/**
 * Partition mode (and batch handlers): one job at a time, in offset order.
 *
 * The lane is one async loop over the queue that awaits each job before taking the next, the way a
 * hand-written consumer loop would: a record costs its job object, one await of its handler's
 * promise and a little bookkeeping. The loop ends when the queue is empty and the next batch starts
 * it again. Fetched arrays are queued as they are, never copied record by record.
 */
import type { FetchedRecord } from './consumer-port.js'
import { Job } from './job.js'
import { recoverJob, rejectedWithoutReason, type Lane, type LaneHost } from './lane.js'

/** Finished arrays before `head` are dropped from the queue once this many have piled up. */
const COMPACT_AFTER = 64

export class InOrderLane implements Lane {
  /** Fetched arrays waiting, read from `segments[head][index]` on. */
  private segments: (readonly FetchedRecord[])[] = []
  private head = 0
  private index = 0
  private count = 0
  private current: Job | undefined
  private looping = false

  constructor(
    private readonly host: LaneHost,
    private readonly batchSize: number,
  ) {}

  get queued(): number {
    return this.count
  }

  get inFlight(): number {
    return this.current === undefined ? 0 : 1
  }

  push(records: readonly FetchedRecord[]): void {
    this.segments.push(records)
    this.count += records.length
  }

  pump(): void {
    if (this.looping || this.count === 0 || !this.host.dispatching) return
    this.looping = true
    this.run().catch((bug: unknown) => this.host.reportBug(bug instanceof Error ? bug : new Error(String(bug))))
  }

  clear(): void {
    this.segments = []
    this.head = 0
    this.index = 0
    this.count = 0
  }

  releaseAll(): void {
    if (this.current !== undefined) this.host.release(this.current)
    this.current = undefined
  }

  private async run(): Promise<void> {
    const host = this.host
    const { limiter, turns } = host
    const attempt = host.chain.attempt
    try {
      while (this.count > 0 && host.dispatching) {
        if (turns.due()) {
          await turns.turn()
          continue
        }
        if (!limiter.tryAcquire()) {
          await new Promise<void>((resolve) => limiter.whenAvailable(resolve))
          continue
        }
        const job = this.take()
        host.dequeued()
        this.current = job
        host.begin(job)
        let error: unknown
        try {
          await attempt(job, job)
        } catch (failure) {
          error = await recoverJob(host, job, failure ?? rejectedWithoutReason())
        }
        if (this.current === job) this.current = undefined
        if (host.complete(job, error) === 'failed') {
          this.putBack(job.records)
          // Cut short by a revocation, which also empties the queue and ends the loop.
          await host.redispatchDelay()
        }
      }
    } finally {
      this.looping = false
    }
  }

  private take(): Job {
    if (this.batchSize === 1) return new Job(this.host, this.next(), undefined, undefined)
    const records: FetchedRecord[] = []
    while (records.length < this.batchSize && this.count > 0) records.push(this.next())
    return new Job(this.host, records[0] as FetchedRecord, records, undefined)
  }

  private next(): FetchedRecord {
    const segment = this.segments[this.head] as readonly FetchedRecord[]
    const record = segment[this.index++] as FetchedRecord
    this.count--
    if (this.index === segment.length) {
      this.index = 0
      if (++this.head === this.segments.length) {
        this.segments = []
        this.head = 0
      } else if (this.head >= COMPACT_AFTER) {
        this.segments = this.segments.slice(this.head)
        this.head = 0
      }
    }
    return record
  }

  /** Puts a failed job's records back at the front of the queue. */
  private putBack(records: readonly FetchedRecord[]): void {
    const rest = this.segments.slice(this.head)
    if (rest.length > 0 && this.index > 0) rest[0] = (rest[0] as readonly FetchedRecord[]).slice(this.index)
    this.segments = [records, ...rest]
    this.head = 0
    this.index = 0
    this.count += records.length
  }
}
