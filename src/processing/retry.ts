/**
 * The retry middleware: run the rest of the chain again after a failure, with exponential backoff,
 * until it succeeds, the attempts run out, or the error says retrying is pointless.
 */
import { backoffDelay } from '../client/index.js'
import { NonRetriableError, ProcessingAbortedError } from './errors.js'
import { Job } from './job.js'
import { invoke, recovering, type Context, type Middleware, type Recover, type Step, type Work } from './handler.js'
import { sleep } from './limiter.js'

export interface RetryOptions {
  /** Attempts after the first. 0 disables retrying. */
  readonly retries: number
  /** Delay before the first retry; it doubles per retry up to `maxBackoffMs`. */
  readonly initialBackoffMs: number
  readonly maxBackoffMs: number
  /** Spread each delay by ± this fraction so failing partitions do not retry in lockstep. Default 0.2. */
  readonly jitter?: number
  /** Default: everything except `NonRetriableError` (which includes deserialization errors). */
  readonly isRetriable?: (error: unknown) => boolean
}

export interface RetryObserver {
  attemptFailed(work: Work, ctx: Context, error: unknown, willRetry: boolean): void
}

export const DEFAULT_RETRY: RetryOptions = { retries: 3, initialBackoffMs: 200, maxBackoffMs: 10_000 }

/** The delay before retry number `retry` (≥ 1): the client's exponential backoff with jitter. */
export function backoffMs(retry: number, options: RetryOptions, random: () => number = Math.random): number {
  return backoffDelay(retry, {
    initialMs: options.initialBackoffMs,
    maxMs: options.maxBackoffMs,
    ...(options.jitter === undefined ? {} : { jitter: options.jitter }),
    random,
  })
}

export function retry(options: RetryOptions, observer?: RetryObserver): Middleware {
  return (next) => recovering(next, retryAfterFailure(options, observer, next))
}

/**
 * What `retry` does once `next` has failed: the retries, then the last error if they all fail. The
 * app calls it only on a rejection, so the first attempt of every record costs nothing here.
 */
export function retryAfterFailure(options: RetryOptions, observer: RetryObserver | undefined, next: Step): Recover {
  const isRetriable = options.isRetriable ?? ((error: unknown) => !(error instanceof NonRetriableError))
  return async (work, ctx, firstError) => {
    let error = firstError
    for (let attempt = 1; ; attempt++) {
      if (ctx.signal.aborted || error instanceof ProcessingAbortedError) throw error
      const willRetry = attempt <= options.retries && isRetriable(error)
      observer?.attemptFailed(work, ctx, error, willRetry)
      if (!willRetry) throw error
      // A retry would outlive the partition's ownership: leave it, undone, to the next owner.
      if (ctx.revoking) throw abandoned(work)
      try {
        await sleep(backoffMs(attempt, options), AbortSignal.any([ctx.signal, ctx.revokingSignal]))
      } catch (reason) {
        if (ctx.signal.aborted) throw reason
        throw abandoned(work)
      }
      if (ctx instanceof Job) ctx.attempt = attempt + 1
      try {
        await invoke(next, work, ctx)
        return
      } catch (failure) {
        // The failed attempt's outputs are not the record's (transactional mode holds them).
        if (ctx instanceof Job) ctx.discardOutputs()
        error = failure
      }
    }
  }
}

function abandoned(work: Work): ProcessingAbortedError {
  return new ProcessingAbortedError(
    'PROCESSING_RETRY_ABANDONED',
    `retries of ${work.topic}[${work.partition}] stopped: the partition is being revoked (its next owner processes the record again) or was moved by a seek (it continues from the seek's target)`,
  )
}
