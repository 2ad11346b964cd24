/**
 * What user code sees: the record, the context, handlers and middleware.
 */
import type { FetchedRecord, ProducedRecord, RecordHeader, SeekOffset } from './consumer-port.js'
import type { Logger } from './logger.js'
import type { SqlTransaction } from './store/sql.js'

/** A fetched record as a handler receives it, with its value deserialized. */
export interface ConsumedRecord<V = Buffer | null> {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  /** Milliseconds since the epoch. */
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: V
  readonly headers: readonly RecordHeader[]
}

export interface Context {
  readonly topic: string
  readonly partition: number
  /** The record's offset (a batch's first). */
  readonly offset: bigint
  /**
   * Aborted when this work must stop now: the drain deadline of a revocation or shutdown passed, the
   * partition was lost, or the stop was forced. The work is not marked done and will be processed
   * again by the partition's next owner, so stop without side effects if you can. Pass it to
   * `fetch`, database drivers and the like.
   */
  readonly signal: AbortSignal
  /**
   * True once the partition is being revoked or the app is stopping: no new records will be
   * dispatched, and this one should finish soon (before the drain deadline) to be committed.
   * Also once a seek moved the partition: finish soon, processing continues from the target.
   */
  readonly revoking: boolean
  /** Aborted when `revoking` becomes true, for handlers that want an event rather than a flag. */
  readonly revokingSignal: AbortSignal
  /** 1 on the first attempt, then 2, 3, ... on retries. */
  readonly attempt: number
  readonly log: Logger
  /**
   * Store mode (`delivery: 'store'`): the record's transaction on the application's database. Its
   * writes commit together with the partition's offset, or not at all; a handler that throws has
   * them rolled back (a savepoint per attempt). Usable only until the handler's promise settles.
   * In other modes reading it throws `StoreModeRequiredError`.
   */
  readonly tx: SqlTransaction
  /** Produce a record through the app's producer. */
  produce(record: ProducedRecord): Promise<void>
  /**
   * Stops starting records of this partition (this one and those running finish) until the
   * returned function, or `app.resume`, is called. As KafkaJS's `pause()` in `eachMessage`.
   */
  pause(): () => void
  /**
   * Moves this partition to `offset` (`'earliest'`, `'latest'`): once this handler and the others
   * running on the partition have settled, processing continues from there, and the target is
   * committed. Records of the partition queued meanwhile are dropped; nothing of this record is
   * retried. The README's "Seek" section has the whole rule. As KafkaJS's `seek` in `eachMessage`.
   * @throws PartitionNotOwnedError when the partition is being revoked (the seek would be lost).
   */
  seek(offset: SeekOffset): void
}

export type RecordHandler<V = Buffer | null> = (record: ConsumedRecord<V>, ctx: Context) => Promise<void>
export type BatchHandler<V = Buffer | null> = (records: readonly ConsumedRecord<V>[], ctx: Context) => Promise<void>

/** One unit of work for the middleware chain: a record, or a batch for batch handlers. */
export interface Work {
  readonly topic: string
  readonly partition: number
  readonly records: readonly FetchedRecord[]
}

export type Step = (work: Work, ctx: Context) => Promise<void>

/**
 * Wraps the next step of the chain. Retries and dead letters are middleware; so can be filters,
 * tracing or idempotency checks:
 *
 * ```ts
 * const skipTombstones: Middleware = (next) => async (work, ctx) => {
 *   if (work.records.every((r) => r.value !== null)) await next(work, ctx)
 * }
 * ```
 */
export type Middleware = (next: Step) => Step

/** Runs a step, turning a synchronous throw into a rejection so that every failure takes one path. */
export function invoke(step: Step, work: Work, ctx: Context): Promise<void> {
  try {
    return step(work, ctx)
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)))
  }
}

/** What runs once a step has failed: resolves when the failure is dealt with, rejects with what remains. */
export type Recover = (work: Work, ctx: Context, error: unknown) => Promise<void>

/**
 * A chain split at its failure path, the one form both lanes run: `attempt` is what every record
 * runs (middleware and handler); `recover` (retries, then dead letters or skipping) runs only when
 * `attempt` rejects, and the work's outcome is then `recover`'s. A record that succeeds settles
 * straight from its handler's promise instead of through a promise per layer.
 */
export interface Chain {
  readonly attempt: Step
  readonly recover: Recover
}

/** The chain as one step: what the `retry` and `deadLetter` middleware return. */
export function recovering(attempt: Step, recover: Recover): Step {
  // No async frame on the success path: this runs once per record.
  return (work, ctx) => invoke(attempt, work, ctx).catch((error: unknown) => recover(work, ctx, error))
}

/** Recovers with `first`, and with `then` from what `first` could not recover. */
export function thenRecover(first: Recover, then: Recover): Recover {
  return (work, ctx, error) => first(work, ctx, error).catch((failure: unknown) => then(work, ctx, failure))
}

/** The first middleware is the outermost: it sees the work first and the outcome last. */
export function compose(middleware: readonly Middleware[], inner: Step): Step {
  let step = inner
  for (let i = middleware.length - 1; i >= 0; i--) step = (middleware[i] as Middleware)(step)
  return step
}
