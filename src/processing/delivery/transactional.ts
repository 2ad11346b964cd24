/**
 * The `transactional` delivery: what handlers produce with `ctx.produce` and the input offsets that
 * cover it are written in one Kafka transaction (consume-transform-produce, KIP-98 and KIP-447).
 *
 * - A record's outputs are held in memory while its handler runs, and discarded if the attempt
 *   fails (a retry starts clean; a dead-lettered record's dead letter is its only output). When the
 *   record is done they are held here (`HeldOutputs`) until a transaction commits them.
 * - A transaction opens only when the processor commits: it sends the held outputs the offsets
 *   cover, then the offsets with the group's metadata (`sendOffsets`), then commits. The group
 *   coordinator refuses offsets from a generation the group has left, so a member that lost its
 *   partitions (a zombie) cannot commit their work; its outputs are aborted with the transaction.
 *   Transactions are therefore short, whatever the handlers do.
 * - Batching: commits made as work completes wait until `maxRecords` records are done, or the
 *   oldest has waited `maxMs` (`batchWindow`), so one transaction carries many records. Revocations
 *   and the stop commit at once: drain, commit the transaction, then release.
 * - A restarted member with the same transactional id fences its predecessor's open transaction
 *   when its producer initialises, which the app does before the member joins the group; a crashed
 *   member's transaction under another id is aborted by the coordinator after
 *   `transactionTimeoutMs`, and the next owner's offset fetch waits for that (KIP-447 requireStable).
 */
import {
  KafkaError,
  KafkaErrorCode,
  ProducerFencedError,
  TransactionAbortableError,
  TransactionFatalError,
  type ConsumerGroupMetadata,
  type ProducerRecord,
  type TransactionOffset,
  type TransactionState,
} from '../../client/index.js'
import type { AssignedPartition, OffsetToCommit, ProducedRecord, TopicPartition } from '../consumer-port.js'
import { StaleGenerationError } from '../errors.js'
import { publish } from '../instrumentation.js'
import type { Logger } from '../logger.js'
import { HeldOutputs, type CoveredOutputs } from './held-outputs.js'
import type { ResolvedTransactions } from './transactional-config.js'
import type { CommitReason, Delivery } from './types.js'

/** What the delivery needs of a transactional producer; baton's `Producer` with a `transactionalId` is one. */
export interface TransactionalProducer {
  readonly transactionState: TransactionState | undefined
  initTransactions(): Promise<void>
  beginTransaction(): void
  sendBatch(records: readonly ProducerRecord[]): Promise<unknown>
  sendOffsets(offsets: readonly TransactionOffset[], group: ConsumerGroupMetadata): Promise<void>
  commitTransaction(): Promise<void>
  abortTransaction(): Promise<void>
  close(): Promise<void>
}

export interface TransactionalDeliveryOptions {
  readonly settings: ResolvedTransactions
  /** A new producer for `settings.transactionalId`; called again after the producer was fenced. */
  readonly createProducer: () => TransactionalProducer
  /** The consumer group's metadata now (generation, member id), for `sendOffsets`. */
  readonly groupMetadata: () => ConsumerGroupMetadata
  readonly logger: Logger
}

/** Refusals of the offsets that mean the group moved on without this member's generation. */
const GROUP_MOVED_ON: ReadonlySet<number> = new Set([
  KafkaErrorCode.ILLEGAL_GENERATION,
  KafkaErrorCode.UNKNOWN_MEMBER_ID,
  KafkaErrorCode.FENCED_INSTANCE_ID,
  KafkaErrorCode.REBALANCE_IN_PROGRESS,
])

export class TransactionalDelivery implements Delivery {
  readonly mode = 'transactional'
  private readonly held = new HeldOutputs()
  private producer: TransactionalProducer | undefined
  /** Set when partitions were lost while a transaction was open: it must not commit. */
  private doomed = false
  private windowWaiter: { resolve: () => void; timer: NodeJS.Timeout } | undefined
  private closed = false

  constructor(private readonly options: TransactionalDeliveryOptions) {}

  get transactionalId(): string {
    return this.options.settings.transactionalId
  }

  /** Input records done and held, waiting for a transaction. */
  get heldRecords(): number {
    return this.held.records
  }

  /**
   * Gets the producer id for the transactional id, which fences an earlier producer with the same
   * id and ends its open transaction. The app calls this before the member joins the group.
   */
  async init(): Promise<void> {
    if (this.producer === undefined) await this.newProducer()
  }

  /**
   * A record (or batch) of `tp` is done, having produced `outputs` in its successful attempt.
   * False once two transactions' worth of records with outputs are held: handlers that outrun the
   * transactions would otherwise hold the whole backlog's outputs in memory. Records without
   * outputs hold nothing, so they never stop the partition: they go on while a transaction
   * commits, and the next one takes every record done meanwhile.
   */
  hold(tp: TopicPartition, offsets: readonly bigint[], outputs: readonly ProducedRecord[]): boolean {
    this.held.add(tp, { offsets, outputs })
    const { maxRecords } = this.options.settings
    if (this.held.records >= maxRecords) this.openWindow()
    return this.held.recordsWithOutputs < 2 * maxRecords
  }

  /**
   * Resolves when a commit made as work completes should go: `maxRecords` records are done, or
   * the oldest done one has waited `maxMs`. At once when nothing is held: the completion was
   * another delivery's (an at-least-once route of the same app), which need not wait.
   */
  batchWindow(): Promise<void> {
    const { maxRecords, maxMs } = this.options.settings
    const oldest = this.held.oldestAt
    if (oldest === undefined || this.held.records >= maxRecords || this.closed) return Promise.resolve()
    const waitMs = Math.max(0, oldest + maxMs - performance.now())
    if (waitMs === 0) return Promise.resolve()
    this.openWindow()
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.openWindow(), waitMs)
      timer.unref()
      this.windowWaiter = { resolve, timer }
    })
  }

  /**
   * One transaction per `maxRecords` records of the commit: all but the last commit offsets part
   * of the way (every record below them done, their outputs in the same transaction); the last
   * commits `offsets` as asked. A failure leaves what is not yet committed held, for the next commit.
   */
  async commit(offsets: readonly OffsetToCommit[], reason: CommitReason): Promise<void> {
    this.doomed = false
    try {
      for (;;) {
        const share = this.held.covered(offsets, this.options.settings.maxRecords)
        await this.transact(share, reason)
        this.held.release(share)
        if (share.complete) return
      }
    } finally {
      // A hand-off's commit is the last for its partitions here: what it could not take goes with them.
      if (reason === 'rebalance' || reason === 'shutdown') this.held.drop(offsets)
    }
  }

  private async transact(share: CoveredOutputs, reason: CommitReason): Promise<void> {
    const producer = this.producer ?? (await this.newProducer())
    const event = { transactionalId: this.transactionalId, records: share.records, outputs: share.outputs.length, offsets: share.offsets }
    producer.beginTransaction()
    try {
      if (share.outputs.length > 0) await producer.sendBatch(share.outputs.map(toProducerRecord))
      publish('transaction', () => ({ ...event, phase: 'written' }))
      this.refuseIfDoomed()
      await producer.sendOffsets(share.offsets.map(toTransactionOffset), this.options.groupMetadata())
      this.refuseIfDoomed()
      await producer.commitTransaction()
    } catch (error) {
      await this.abort(producer, error)
      publish('transaction', () => ({ ...event, phase: 'aborted', error }))
      throw this.explain(error, reason)
    }
    publish('transaction', () => ({ ...event, phase: 'committed' }))
  }

  assigned(partitions: readonly AssignedPartition[]): Promise<readonly AssignedPartition[]> {
    this.held.assigned(partitions)
    return Promise.resolve(partitions)
  }

  lost(partitions: readonly TopicPartition[]): Promise<void> {
    this.held.drop(partitions)
    this.doomed = true
    return Promise.resolve()
  }

  async close(): Promise<void> {
    this.closed = true
    this.openWindow()
    const producer = this.producer
    this.producer = undefined
    // Aborts a transaction still open rather than leaving it to the coordinator's timeout.
    await producer?.close()
  }

  private async newProducer(): Promise<TransactionalProducer> {
    const producer = this.options.createProducer()
    try {
      await producer.initTransactions()
    } catch (error) {
      await producer.close().catch(() => undefined)
      throw error
    }
    this.producer = producer
    return producer
  }

  private openWindow(): void {
    const waiter = this.windowWaiter
    if (waiter === undefined) return
    this.windowWaiter = undefined
    clearTimeout(waiter.timer)
    waiter.resolve()
  }

  private refuseIfDoomed(): void {
    if (this.doomed) throw new StaleGenerationError('partitions of this transaction were lost while it was open; aborted, the next owner processes its records again')
  }

  private async abort(producer: TransactionalProducer, error: unknown): Promise<void> {
    if (error instanceof TransactionFatalError) {
      // Fenced (its transaction outlived transactionTimeoutMs, or another process took the id) or
      // refused for good: this producer is finished. The next commit starts a new one, whose
      // initialisation gets a new epoch; the group's generation still fences stale offsets.
      if (this.producer === producer) this.producer = undefined
      this.options.logger.warn({ err: error, transactionalId: this.transactionalId }, 'the transactional producer was fenced; its transaction is aborted and a new producer takes over')
      await producer.close().catch(() => undefined)
      return
    }
    const state = producer.transactionState
    if (state !== 'in-transaction' && state !== 'abortable-error' && state !== 'committing') return
    try {
      await producer.abortTransaction()
    } catch (abortError) {
      if (this.producer === producer) this.producer = undefined
      this.options.logger.warn({ err: abortError, transactionalId: this.transactionalId }, 'aborting the transaction failed; a new producer takes over, and the coordinator aborts the transaction')
      await producer.close().catch(() => undefined)
    }
  }

  /** The group moved on: the processor treats it as a commit the next owner makes instead. */
  private explain(error: unknown, reason: CommitReason): unknown {
    if (error instanceof StaleGenerationError) return error
    const cause = error instanceof TransactionAbortableError ? error.cause : undefined
    if (cause instanceof KafkaError && GROUP_MOVED_ON.has(cause.errorCode)) {
      return new StaleGenerationError(
        `the group refused this transaction's offsets (${cause.message}) on ${reason}: this member's generation ended; the transaction was aborted and the partitions' next owner processes the records again`,
        this.options.groupMetadata().generationId,
        { cause: error },
      )
    }
    if (error instanceof ProducerFencedError) return new StaleGenerationError(error.message, undefined, { cause: error })
    return error
  }
}

function toProducerRecord(record: ProducedRecord): ProducerRecord {
  return {
    topic: record.topic,
    value: record.value,
    ...(record.key === undefined ? {} : { key: record.key }),
    ...(record.partition === undefined ? {} : { partition: record.partition }),
    ...(record.headers === undefined ? {} : { headers: record.headers.map((h) => ({ key: h.key, value: h.value })) }),
  }
}

function toTransactionOffset(offset: OffsetToCommit): TransactionOffset {
  return { topic: offset.topic, partition: offset.partition, offset: offset.offset, metadata: offset.metadata ?? null }
}
