/**
 * One unit of work (a record, or a batch for batch handlers) and the `ctx` its handler gets: the
 * same object, passed as both `work` and `ctx` down the middleware chain. A job is created for
 * every record, so it carries only what differs per record and reads the rest from its partition's
 * worker.
 */
import type { FetchedRecord, ProducedRecord, SeekOffset } from './consumer-port.js'
import type { Context, Work } from './handler.js'
import type { Logger } from './logger.js'
import { StoreModeRequiredError } from './store/errors.js'
import type { SqlTransaction } from './store/sql.js'

/** What a job reads from its partition's worker. */
export interface JobHost {
  readonly topic: string
  readonly partition: number
  readonly signal: AbortSignal
  readonly revokingSignal: AbortSignal
  readonly logger: Logger
  /** True in transactional mode: `ctx.produce` holds the outputs for the transaction instead of sending them. */
  readonly holdsOutputs?: boolean
  produce(record: ProducedRecord): Promise<void>
  pauseByUser(): void
  resumeByUser(): void
  seekByUser(offset: SeekOffset): void
}

/** Most handlers never log; their jobs carry no field for a child logger. */
const childLoggers = new WeakMap<Job, Logger>()

export class Job implements Work, Context {
  /** Advanced by the retry middleware. */
  attempt = 1
  /**
   * Set once the job's concurrency slot is given back: when it settles, or earlier when its worker
   * is closed under it, in which case whatever it does from then on counts for nothing.
   */
  released = false
  /** `performance.now()` at its start, when the worker measures durations. */
  startedAt = 0
  /** Transactional mode: what the current attempt produced, for the transaction once the job is done. */
  outputs: ProducedRecord[] | undefined = undefined
  /** Store mode: the record's database transaction while an attempt runs (`ctx.tx`). */
  storeTx: SqlTransaction | undefined = undefined

  /**
   * A job is allocated per record, so its fields are few: records a garbage collection must copy
   * wait in the queues meanwhile, and every byte allocated per record brings the next one closer.
   */
  constructor(
    private readonly host: JobHost,
    /** The record, or a batch's first. */
    readonly first: FetchedRecord,
    /** A batch handler's records; for a single record, made only if something asks for the list. */
    private list: readonly FetchedRecord[] | undefined,
    /** Key mode's queue key, undefined for records without a key and in partition mode. */
    readonly key: string | undefined,
  ) {}

  get records(): readonly FetchedRecord[] {
    return (this.list ??= [this.first])
  }

  /** More than one record: a batch handler's job. */
  get isBatch(): boolean {
    return this.list !== undefined && this.list.length > 1
  }

  get topic(): string {
    return this.host.topic
  }

  get partition(): number {
    return this.host.partition
  }

  get offset(): bigint {
    return this.first.offset
  }

  get signal(): AbortSignal {
    return this.host.signal
  }

  get revokingSignal(): AbortSignal {
    return this.host.revokingSignal
  }

  get revoking(): boolean {
    return this.host.revokingSignal.aborted
  }

  // Child loggers cost an allocation and a serialisation of bindings: made on first use only.
  get log(): Logger {
    let logger = childLoggers.get(this)
    if (logger === undefined) {
      logger = this.host.logger.child({ topic: this.topic, partition: this.partition, offset: String(this.offset) })
      childLoggers.set(this, logger)
    }
    return logger
  }

  get tx(): SqlTransaction {
    if (this.storeTx === undefined) throw new StoreModeRequiredError("is not available: this route's delivery is not 'store'")
    return this.storeTx
  }

  produce(record: ProducedRecord): Promise<void> {
    if (this.host.holdsOutputs !== true) return this.host.produce(record)
    // Written with the input offsets in the transaction, or never: nothing to wait for here.
    ;(this.outputs ??= []).push(record)
    return Promise.resolve()
  }

  /** A failed attempt's outputs go: the retry (or the dead letter) produces its own. */
  discardOutputs(): void {
    this.outputs = undefined
  }

  pause(): () => void {
    const host = this.host
    host.pauseByUser()
    return () => host.resumeByUser()
  }

  seek(offset: SeekOffset): void {
    this.host.seekByUser(offset)
  }
}
