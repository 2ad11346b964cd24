/**
 * One partition's side of store mode: its claim, the database transaction its records are written
 * in, and the lock that keeps one statement sequence at a time on that transaction.
 *
 * The first record after a commit opens the transaction; each record (each attempt of it) runs
 * inside a savepoint, so a failing handler's writes go and the others' stay. The transaction is
 * committed, with the partition's next offset written last and only if this member's claim still
 * holds (`OffsetStore.commit`), once it holds `maxRecords` records, once it is `maxMs` old, when
 * the processor needs the offset stored now (revocation, stop), or, while other transactions wait
 * for a connection (PGlite has one), as soon as the partition's records pause for an event-loop
 * turn: an open transaction with nothing to do would keep them all waiting until `maxMs`. A record and the commit never
 * interleave: both take the lock, so the offset written always covers exactly the effects in the
 * transaction.
 *
 * Once a transaction fails (fenced, or broken), the partition stores nothing more: its records
 * were marked done in memory, and only the next owner, starting from the database's offset, can
 * redo them.
 */
import type { Step, Work, Context } from '../handler.js'
import { ProcessingAbortedError } from '../errors.js'
import { Job } from '../job.js'
import { StoreFencedError, StoreModeRequiredError, StoreTransactionError } from '../store/errors.js'
import type { OffsetStore, PartitionClaim } from '../store/offset-store.js'
import type { SqlTransaction } from '../store/sql.js'

export interface PartitionTransactionsOptions {
  readonly store: OffsetStore
  readonly claim: PartitionClaim
  readonly maxRecords: number
  readonly maxMs: number
  /** A transaction committed: the partition's offset in the database is now `offset`. */
  stored(offset: bigint): void
  /** A commit was refused: another member claimed the partition since (this member is a zombie for it). */
  fenced(error: StoreFencedError): void
  /** A transaction failed other than by fencing: the app must stop (nothing is lost, the records are redone). */
  broken(error: StoreTransactionError): void
}

interface OpenTransaction {
  readonly tx: SqlTransaction
  readonly openedAt: number
  /** Settles (never rejects) once the transaction has committed or rolled back. */
  done: Promise<void>
  records: number
  ended: boolean
  timer: NodeJS.Timeout | undefined
  decide(commit: boolean): void
}

/** How often a paused partition with an open transaction looks whether other transactions wait for a connection. */
const IDLE_POLL_MS = 5

/** Thrown inside the transaction to roll it back on purpose (revocation, loss). */
class RollbackRequested extends Error {}

/**
 * One holder at a time, in arrival order. Taken without a promise when it is free (each record
 * takes it once, and allocation per record is what store mode's throughput is made of); released,
 * it passes straight to the next waiter.
 */
class Lock {
  private held = false
  private readonly waiters: (() => void)[] = []

  tryAcquire(): boolean {
    if (this.held) return false
    this.held = true
    return true
  }

  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  release(): void {
    const next = this.waiters.shift()
    if (next === undefined) this.held = false
    else next()
  }
}

export class PartitionTransactions {
  private claim: PartitionClaim
  private readonly lock = new Lock()
  private open: OpenTransaction | undefined
  /** After the last record whose effects are in the open transaction. */
  private written = -1n
  /** The highest offset the processor asked to store (records done without effects, gaps). */
  private wanted = -1n
  /** Set once the partition can store nothing more: fenced, broken, or let go of. */
  private failure: Error | undefined
  /** A record holds the lock (its attempt runs). */
  private running = false
  /** The check, an event-loop turn after a record, whether the partition's records paused. */
  private idleCheck: NodeJS.Immediate | undefined
  /** While paused with a transaction open and nobody waiting: the next look at whether someone waits. */
  private idlePoll: NodeJS.Timeout | undefined

  constructor(private readonly options: PartitionTransactionsOptions) {
    this.claim = options.claim
  }

  get topic(): string {
    return this.claim.topic
  }

  get partition(): number {
    return this.claim.partition
  }

  /** The partition's offset as the database holds it (null: none stored yet). */
  get stored(): bigint | null {
    return this.claim.nextOffset
  }

  /**
   * Runs one attempt of `work` in a savepoint of the partition's transaction, with `ctx.tx` set to
   * it. A rejection of `attempt` rolls the savepoint back and is rethrown (the route's retries and
   * dead letters follow); a failure of the transaction itself aborts the work, undone.
   */
  async run(work: Work, ctx: Context, attempt: Step): Promise<void> {
    // An abort, not the failure itself: the record must not take the retry and dead-letter path.
    if (this.failure !== undefined) throw this.aborted()
    if (!this.lock.tryAcquire()) await this.lock.acquire()
    let full: boolean
    this.running = true
    try {
      if (this.failure !== undefined) throw this.aborted()
      const open = this.open ?? (await this.ensureOpen())
      // The savepoint is taken at the attempt's first query, and never released: the next one
      // shadows it, and a rollback goes to the latest. A handler that writes nothing costs no
      // statement; one that writes costs one more, not two.
      const scope = handlerScope(open, () => this.statement(open, 'SAVEPOINT baton_record'))
      if (ctx instanceof Job) ctx.storeTx = scope.tx
      try {
        await attempt(work, ctx)
        // A statement that failed leaves PostgreSQL's transaction unusable until a rollback, even
        // when the handler caught the error: the attempt fails with it.
        if (scope.failedQuery !== undefined) throw scope.failedQuery instanceof Error ? scope.failedQuery : new Error('a query of ctx.tx failed', { cause: scope.failedQuery })
      } catch (error) {
        if (scope.end()) await this.statement(open, 'ROLLBACK TO SAVEPOINT baton_record')
        throw error
      }
      scope.end()
      const last = work.records[work.records.length - 1]
      if (last !== undefined && last.offset + 1n > this.written) this.written = last.offset + 1n
      open.records += work.records.length
      full = open.records >= this.options.maxRecords
    } finally {
      this.running = false
      this.lock.release()
    }
    if (full) this.flush().catch(() => undefined)
    else this.watchIdle()
  }

  /**
   * Stores at least `offset` (everything below it is done). `now` false (a completion or an
   * interval): a transaction under way commits at its own bound (count or age) and this waits
   * for it; `now` true (revocation, stop): commit at once. Rejects with the partition's failure.
   */
  async storeUpTo(offset: bigint, now: boolean): Promise<void> {
    if (offset > this.wanted) this.wanted = offset
    this.refuseIfFailed()
    const open = this.open
    if (!now && open !== undefined) await open.done
    if ((this.claim.nextOffset ?? -1n) < offset) await this.flush()
    this.refuseIfFailed()
  }

  /** Commits what the partition holds now: the open transaction, or the offset alone when only it moved. */
  async flush(): Promise<void> {
    await this.lock.acquire()
    try {
      this.refuseIfFailed()
      const open = this.open
      if (open !== undefined) {
        this.end(open, true)
        await open.done
      } else if (this.target() > (this.claim.nextOffset ?? -1n)) {
        await this.settle(this.options.store.commit(this.claim, this.target(), () => Promise.resolve()))
      }
      this.refuseIfFailed()
    } finally {
      this.lock.release()
    }
  }

  /**
   * The partition left this member (revoked after its last commit, lost, or the app stopped): what
   * is still open is rolled back, at once, without waiting for a handler that may still run, and
   * nothing more is stored for it.
   */
  async release(reason: Error): Promise<void> {
    this.failure ??= reason
    const open = this.open
    if (open === undefined) return
    this.end(open, false)
    await open.done
  }

  /**
   * Commits the open transaction once the partition's records paused (a turn of the event loop
   * went by without one: its queue ran dry, the next fetch is on its way) while others wait for a
   * connection. Records of a fetched batch follow each other within a turn, so a busy partition
   * keeps batching up to its bounds; a paused one keeps its transaction, for the records to come,
   * only while nobody waits, which it looks at every few milliseconds until its bounds end it.
   */
  private watchIdle(): void {
    const open = this.open
    if (this.idleCheck !== undefined || open === undefined) return
    const seen = open.records
    this.idleCheck = setImmediate(() => {
      this.idleCheck = undefined
      this.checkIdle(open, seen)
    })
  }

  private checkIdle(open: OpenTransaction, seen: number): void {
    if (this.open !== open || open.ended) return
    if (this.running || open.records !== seen) return this.watchIdle()
    if (this.options.store.contended) {
      this.flush().catch(() => undefined)
      return
    }
    if (this.idlePoll !== undefined) return
    this.idlePoll = setTimeout(() => {
      this.idlePoll = undefined
      this.checkIdle(open, seen)
    }, IDLE_POLL_MS)
  }

  private target(): bigint {
    return this.wanted > this.written ? this.wanted : this.written
  }

  private refuseIfFailed(): void {
    if (this.failure !== undefined) throw this.failure
  }

  private async ensureOpen(): Promise<OpenTransaction> {
    if (this.open !== undefined) return this.open
    let decide!: (commit: boolean) => void
    const decision = new Promise<boolean>((resolve) => (decide = resolve))
    let ready!: (tx: SqlTransaction) => void
    const started = new Promise<SqlTransaction>((resolve) => (ready = resolve))
    const committed = this.options.store.commit(
      this.claim,
      () => this.target(),
      async (tx) => {
        ready(tx)
        if (!(await decision)) throw new RollbackRequested('rolled back on purpose')
      },
    )
    // The transaction may fail before it starts (no connection): that failure is the partition's.
    const done = this.settle(committed)
    const tx = await Promise.race([started, done.then(() => undefined)])
    if (tx === undefined) {
      this.refuseIfFailed()
      throw this.unavailable(new Error('the transaction ended before it began'))
    }
    const open: OpenTransaction = { tx, openedAt: Date.now(), done, records: 0, ended: false, timer: undefined, decide }
    // Let go of (lost, revoked) while the transaction was being opened: it never serves a record.
    if (this.failure !== undefined) {
      open.ended = true
      decide(false)
      throw this.aborted()
    }
    open.timer = setTimeout(() => void this.flush().catch(() => undefined), this.options.maxMs)
    open.timer.unref()
    this.open = open
    return open
  }

  private end(open: OpenTransaction, commit: boolean): void {
    if (open.ended) return
    open.ended = true
    clearTimeout(open.timer)
    if (this.open === open) this.open = undefined
    open.decide(commit)
  }

  /** Waits for a store transaction and books its outcome; never rejects. */
  private async settle(commit: Promise<{ claim: PartitionClaim }>): Promise<void> {
    try {
      const { claim } = await commit
      this.claim = claim
      if (claim.nextOffset !== null) this.options.stored(claim.nextOffset)
    } catch (error) {
      if (error instanceof RollbackRequested) return
      if (error instanceof StoreFencedError) {
        if (this.failure !== undefined) return
        this.failure = error
        this.options.fenced(error)
        return
      }
      if (this.failure !== undefined) return
      const broken = new StoreTransactionError(this.topic, this.partition, { cause: error })
      this.failure = broken
      this.options.broken(broken)
    }
  }

  /** One of baton's own statements in the transaction; its failure ends the partition's storing. */
  private async statement(open: OpenTransaction, sql: string): Promise<void> {
    if (open.ended) throw this.aborted()
    try {
      await open.tx.query(sql)
    } catch (error) {
      if (open.ended || this.failure !== undefined) throw this.aborted()
      this.end(open, false)
      throw this.unavailable(error)
    }
  }

  private unavailable(cause: unknown): ProcessingAbortedError {
    const error = new StoreTransactionError(this.topic, this.partition, { cause })
    if (this.failure === undefined) {
      this.failure = error
      this.options.broken(error)
    }
    return this.aborted()
  }

  private aborted(): ProcessingAbortedError {
    return new ProcessingAbortedError(
      'PROCESSING_STORE_UNAVAILABLE',
      `${this.topic}[${this.partition}]: the record's database transaction ended (the partition moved, or the transaction failed); the record will be processed again`,
    )
  }
}

/**
 * What a handler gets as `ctx.tx`: the transaction, usable only while its attempt runs. A query
 * after that (a forgotten promise, a timer) is refused instead of landing in a later record's
 * savepoint or, once the transaction ended, on a pooled connection outside any transaction. The
 * attempt's savepoint is taken before its first query; `end` says whether one was.
 */
function handlerScope(open: OpenTransaction, takeSavepoint: () => Promise<void>): { readonly tx: SqlTransaction; readonly failedQuery: unknown; end(): boolean } {
  let active = true
  let savepoint: Promise<void> | undefined
  const scope = {
    failedQuery: undefined as unknown,
    tx: {
      async query(text: string, values?: readonly unknown[]) {
        if (!active) throw new StoreModeRequiredError("was used after the handler's promise settled")
        if (open.ended) throw new ProcessingAbortedError('PROCESSING_STORE_UNAVAILABLE', "the record's database transaction ended; the record will be processed again")
        await (savepoint ??= takeSavepoint())
        // Checked again after the wait: the transaction may have ended meanwhile (the partition lost).
        if (!active) throw new StoreModeRequiredError("was used after the handler's promise settled")
        if (open.ended) throw new ProcessingAbortedError('PROCESSING_STORE_UNAVAILABLE', "the record's database transaction ended; the record will be processed again")
        try {
          return await open.tx.query(text, values)
        } catch (error) {
          scope.failedQuery ??= error
          throw error
        }
      },
    } satisfies SqlTransaction,
    end() {
      active = false
      return savepoint !== undefined
    },
  }
  return scope
}
