/**
 * What a lane is and what it may ask of its partition's worker. A lane decides the order a
 * worker's records run in (`InOrderLane` for partition mode and batches, `KeyLane` for key mode);
 * the worker owns everything else: the offsets, the hand-off, the concurrency slots' bookkeeping.
 * Lanes see the worker only through `LaneHost`, as jobs see it through `JobHost`.
 */
import type { FetchedRecord } from './consumer-port.js'
import type { Chain } from './handler.js'
import type { Job, JobHost } from './job.js'
import type { ConcurrencyLimiter, EventLoopTurns } from './limiter.js'

export type WorkerState = 'active' | 'revoking' | 'closed'
export type WorkOutcome = 'done' | 'failed' | 'aborted'

export interface Lane {
  push(records: readonly FetchedRecord[]): void
  /** Starts what may start now. */
  pump(): void
  /** Drops the queued records (a revocation: they stay unfinished in the tracker). */
  clear(): void
  /** Gives back the slots of running jobs (the worker is closed under them) and forgets them. */
  releaseAll(): void
  readonly queued: number
  readonly inFlight: number
}

/** What a lane reads from and reports to its worker. */
export interface LaneHost extends JobHost {
  /** Only an `active` worker dispatches. */
  readonly state: WorkerState
  /** Active and not paused by the application: records start only while this holds. */
  readonly dispatching: boolean
  /** The route's chain, split at its failure path. */
  readonly chain: Chain
  /** Shared by all workers: the global concurrency cap. */
  readonly limiter: ConcurrencyLimiter
  /** Shared by all workers: when dispatch must let the event loop run. */
  readonly turns: EventLoopTurns
  /** A lane started `job` (it holds a concurrency slot). */
  begin(job: Job): void
  /**
   * Books the end of a job: `error` undefined means done. 'failed' asks the lane to run the work
   * again after `redispatchDelay()` (a failure escaped retries and dead letters).
   */
  complete(job: Job, error: unknown): WorkOutcome
  /** Resolves when failed work may run again, or at once when the partition is being revoked. */
  redispatchDelay(): Promise<void>
  /** Records left the queue. */
  dequeued(): void
  /** Gives back a job's slot, once. */
  release(job: Job): void
  /** Bookkeeping broke (a bug, not a handler failure). */
  reportBug(error: Error): void
}

/**
 * The failure path, written once for both lanes: `attempt` rejected with `error`; run the chain's
 * `recover`. Resolves with what remains of the failure, undefined once recovered. A job closed
 * under it is not recovered: its record goes, undone, to the next owner.
 */
export async function recoverJob(host: LaneHost, job: Job, error: unknown): Promise<unknown> {
  if (job.released) return error
  // The failed attempt's outputs are not the record's (transactional mode); recovering produces its own.
  job.discardOutputs()
  try {
    await host.chain.recover(job, job, error)
    return undefined
  } catch (failure) {
    return failure ?? rejectedWithoutReason()
  }
}

export function rejectedWithoutReason(): Error {
  return new Error('handler rejected without a reason')
}
