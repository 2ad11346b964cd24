/**
 * The transactional producer's side of Kafka transactions (KIP-98, KIP-447, KIP-360):
 *
 * - `initTransactions` gets the producer id and epoch for the transactional id from its
 *   transaction coordinator (FindCoordinator key type TRANSACTION). The coordinator fences every
 *   older producer with the same id and completes its open transaction first.
 * - Each partition is added to the transaction (AddPartitionsToTxn) before its first batch is
 *   sent. Partitions first written in the same turn of the event loop go in one request; the
 *   sender holds a partition's batches until the coordinator has it (`canSend`).
 * - `sendOffsets` adds the group (AddOffsetsToTxn) and sends its offsets to the group coordinator
 *   (TxnOffsetCommit) with the consumer's generation and member id, so a consumer that lost its
 *   partitions cannot commit for them (KIP-447).
 * - `commit` waits until every record of the transaction is acknowledged, then sends EndTxn;
 *   `abort` drops what was not sent, waits for what is on the wire, then sends EndTxn. After a
 *   failure that leaves sequence numbers in doubt, the abort bumps the epoch (InitProducerId with
 *   the current id and epoch, KIP-360) so the next transaction starts at sequence 0.
 *
 * The states and their moves are in transaction-state.ts, and what each failure means in
 * transaction-errors.ts.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { AddOffsetsToTxn, AddPartitionsToTxn, EndTxn, InitProducerId, TxnOffsetCommit } from '../../protocol/generated/index.js'
import { ClientClosedError } from '../errors.js'
import type { Cluster } from '../cluster.js'
import { partitionKey } from '../../protocol/topic-partition.js'
import type { ProducerIdentity } from './idempotence.js'
import { classifyTransactionError, ProducerFencedError, TransactionAbortableError, TransactionFatalError, TransactionStateError, type TransactionRequestKind } from './transaction-errors.js'
import { TransactionRequests } from './transaction-requests.js'
import { TransactionStateMachine, type TransactionState } from './transaction-state.js'

/** The consumer group a transaction's offsets belong to (`GroupConsumer.groupMetadata()`), KIP-447. */
export interface ConsumerGroupMetadata {
  readonly groupId: string
  /** -1 for offsets of a consumer that is not a group member (then the coordinator cannot fence a stale one). */
  readonly generationId: number
  readonly memberId: string
  readonly groupInstanceId: string | null
}

/** An offset to commit with the transaction: the next offset to read, as for `GroupConsumer.commit`. */
export interface TransactionOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly leaderEpoch?: number
  readonly metadata?: string | null
}

/** What the manager needs from the producer and its sender. */
export interface SenderControl {
  wake(): void
  /** Fails the batches not on the wire with `error`; returns whether any had sequence numbers. */
  abortUndrained(error: Error): boolean
  /** Resolves once every record accepted so far has settled (never rejects). */
  flush(): Promise<void>
  /** Resolves once records still waiting for metadata or buffer space have joined a batch or failed. */
  appended(): Promise<void>
}

export interface TransactionManagerOptions {
  readonly transactionalId: string
  readonly transactionTimeoutMs: number
  /** How long each transactional operation may retry; the producer's maxBlockMs. */
  readonly timeoutMs: number
  readonly onSlow: (message: string) => void
}

export class TransactionManager {
  readonly transactionalId: string
  private readonly transactionTimeoutMs: number
  private readonly sm = new TransactionStateMachine()
  private readonly requests: TransactionRequests
  private control: SenderControl | undefined
  /** Partitions the coordinator has in the current transaction. */
  private readonly added = new Set<string>()
  /** Partitions written to and not yet sent in an AddPartitionsToTxn request. */
  private readonly toAdd = new Map<string, { topic: string; partition: number }>()
  private addInFlight: Promise<void> | null = null
  private addScheduled = false
  private readonly offsetsInFlight = new Set<Promise<void>>()
  /** The coordinator knows of this transaction (partitions or offsets were added): EndTxn is needed. */
  private started = false
  private epochBumpRequired = false
  private abortableError: TransactionAbortableError | undefined
  private fatal: Error | undefined
  /** A commit or abort under way; a second call joins it. */
  private completing: { committed: boolean; promise: Promise<void> } | null = null
  private initializing: Promise<void> | null = null

  constructor(
    private readonly cluster: Cluster,
    private readonly identity: ProducerIdentity,
    options: TransactionManagerOptions,
  ) {
    this.transactionalId = options.transactionalId
    this.transactionTimeoutMs = options.transactionTimeoutMs
    this.requests = new TransactionRequests(cluster, { timeoutMs: options.timeoutMs, onSlow: options.onSlow })
  }

  bind(control: SenderControl): void {
    this.control = control
  }

  get state(): TransactionState {
    return this.sm.state
  }

  // ---- hooks for the producer and the sender ----

  /** Why a send must be refused now, or undefined when it may join the open transaction. */
  refuseSend(): Error | undefined {
    const state = this.sm.state
    if (state === 'in-transaction') return undefined
    if (state === 'abortable-error') return this.abortableError
    if (state === 'fatal-error') return this.fatal
    return new TransactionStateError(state, `cannot send: ${state === 'ready' ? 'no transaction is open; call beginTransaction() first' : 'records can only be sent inside an open transaction'}`)
  }

  /** A record joined a batch for this partition: make sure the partition is in the transaction. */
  onAppend(topic: string, partition: number): void {
    const key = partitionKey(topic, partition)
    if (this.added.has(key) || this.toAdd.has(key)) return
    const state = this.sm.state
    if (state !== 'in-transaction' && state !== 'committing') return
    this.toAdd.set(key, { topic, partition })
    this.scheduleAdd()
  }

  /** Whether the sender may send this partition's batches: only once the coordinator has the partition. */
  canSend(topic: string, partition: number): boolean {
    return this.added.has(partitionKey(topic, partition))
  }

  /** A batch failed for good: its records are not in the log, so the transaction cannot commit. */
  onBatchFailed(error: Error): void {
    if (error === this.abortableError || error === this.fatal || error instanceof ClientClosedError) return
    const state = this.sm.state
    if (state === 'aborting' || state === 'closed' || state === 'fatal-error') return
    this.fail(error, 'Produce')
  }

  // ---- the transactional API ----

  async initTransactions(): Promise<void> {
    if (this.sm.state === 'initializing' && this.initializing !== null) return this.initializing
    this.throwIfFatal()
    this.sm.require('initialize transactions', 'uninitialized')
    this.sm.to('initializing')
    this.initializing = this.initProducerId(false).finally(() => (this.initializing = null))
    return this.initializing
  }

  beginTransaction(): void {
    this.throwIfFatal()
    this.sm.require('begin a transaction', 'ready')
    this.added.clear()
    this.toAdd.clear()
    this.started = false
    this.abortableError = undefined
    this.sm.to('in-transaction')
  }

  /**
   * Commits `offsets` for the consumer group with this transaction (KIP-447): they become visible
   * to the group only if the transaction commits.
   * @throws TransactionAbortableError when the group refused them (the consumer lost its partitions): abort.
   */
  async sendOffsets(offsets: readonly TransactionOffset[], group: ConsumerGroupMetadata): Promise<void> {
    this.throwIfFatal()
    if (this.sm.state === 'abortable-error') throw this.abortableError!
    this.sm.require('send offsets', 'in-transaction')
    const work = this.commitOffsets(offsets, group)
    this.offsetsInFlight.add(work)
    try {
      await work
    } finally {
      this.offsetsInFlight.delete(work)
    }
  }

  /**
   * Waits for every record of the transaction to be acknowledged, then commits it.
   * @throws TransactionAbortableError when a record or the offsets failed: call abortTransaction().
   */
  async commitTransaction(): Promise<void> {
    this.throwIfFatal()
    if (this.sm.state === 'abortable-error') throw this.abortableError!
    if (this.completing !== null) {
      if (!this.completing.committed) throw new TransactionStateError(this.sm.state, 'cannot commit: the transaction is being aborted')
      return this.completing.promise
    }
    if (this.sm.state !== 'committing') this.sm.require('commit', 'in-transaction')
    const promise = this.complete(true).finally(() => (this.completing = null))
    this.completing = { committed: true, promise }
    return promise
  }

  /** Drops the transaction's records and offsets; read_committed consumers never see them. */
  async abortTransaction(): Promise<void> {
    this.throwIfFatal()
    if (this.completing !== null) {
      if (this.completing.committed) throw new TransactionStateError(this.sm.state, 'cannot abort: the transaction is being committed; await commitTransaction()')
      return this.completing.promise
    }
    if (this.sm.state !== 'aborting') this.sm.require('abort', 'in-transaction', 'abortable-error')
    const promise = this.complete(false).finally(() => (this.completing = null))
    this.completing = { committed: false, promise }
    return promise
  }

  /** On close: an open transaction is aborted (best effort) so its partitions' LSO does not wait for the timeout. */
  async close(): Promise<void> {
    const state = this.sm.state
    if (state === 'in-transaction' || state === 'abortable-error') await this.abortTransaction().catch(() => undefined)
    if (this.sm.state !== 'closed') this.sm.to('closed')
  }

  // ---- internals ----

  private throwIfFatal(): void {
    if (this.fatal !== undefined) throw this.fatal
    if (this.sm.state === 'closed') throw new ClientClosedError('The producer')
  }

  private async complete(committed: boolean): Promise<void> {
    const control = this.control!
    if (committed) {
      if (this.sm.state !== 'committing') this.sm.to('committing')
      await control.flush()
      await Promise.allSettled([...this.offsetsInFlight])
      // A record or the offsets failed while flushing: the transaction is abortable now.
      this.throwIfFatal()
      if (this.sm.state !== 'committing') throw this.abortableError!
    } else {
      if (this.sm.state !== 'aborting') this.sm.to('aborting')
      await control.appended()
      const dropped = new TransactionAbortableError('the transaction was aborted before this record was sent', undefined)
      if (control.abortUndrained(dropped)) this.epochBumpRequired = true
      // Batches on the wire must land (or fail) before the abort marker, or they would follow it.
      await control.flush()
      await Promise.allSettled([...this.offsetsInFlight])
      this.toAdd.clear()
      if (this.addInFlight !== null) await this.addInFlight.catch(() => undefined)
      this.throwIfFatal()
    }
    if (this.started) {
      try {
        await this.requests.send(
          'EndTxn',
          { type: 'transaction', key: this.transactionalId },
          EndTxn,
          () => ({ transactionalId: this.transactionalId, producerId: this.identity.producerId, producerEpoch: this.identity.producerEpoch, committed }),
          (r) => (r.errorCode === 0 ? null : { code: r.errorCode }),
        )
      } catch (error) {
        // Out of time with the coordinator still unreachable: the state stays, so the call can be repeated.
        const verdict = classifyTransactionError(error, 'EndTxn')
        if (verdict.kind === 'retry') throw error
        if (committed && verdict.kind === 'abortable') {
          this.toAbortable(error, verdict.bumpEpoch)
          throw this.abortableError!
        }
        throw this.toFatal(error)
      }
    }
    this.added.clear()
    this.started = false
    if (!committed && (this.epochBumpRequired || this.identity.bumpNeeded)) {
      this.sm.to('initializing')
      await this.initProducerId(true)
      return
    }
    this.sm.to('ready')
  }

  private async initProducerId(bump: boolean): Promise<void> {
    const identity = this.identity
    try {
      const response = await this.requests.send(
        'InitProducerId',
        { type: 'transaction', key: this.transactionalId },
        InitProducerId,
        (version) => ({
          transactionalId: this.transactionalId,
          transactionTimeoutMs: this.transactionTimeoutMs,
          // KIP-360: the current id and epoch let the coordinator tell a recovering producer from a zombie.
          ...(version >= 3 && identity.producerId >= 0n ? { producerId: identity.producerId, producerEpoch: identity.producerEpoch } : {}),
        }),
        (r) => (r.errorCode === 0 ? null : { code: r.errorCode }),
      )
      identity.adopt(response.producerId, response.producerEpoch)
      this.epochBumpRequired = false
      this.sm.to('ready')
    } catch (error) {
      const verdict = classifyTransactionError(error, 'InitProducerId')
      // Out of time: initTransactions() may be called again (a bump is then tried again by the next abort).
      if (verdict.kind === 'retry' && !bump) {
        this.sm.to('uninitialized')
        throw error
      }
      throw this.toFatal(error)
    }
  }

  private scheduleAdd(): void {
    if (this.addScheduled || this.addInFlight !== null) return
    this.addScheduled = true
    // One request for every partition first written in this turn of the event loop.
    setImmediate(() => {
      this.addScheduled = false
      this.sendAddPartitions()
    })
  }

  private sendAddPartitions(): void {
    if (this.toAdd.size === 0 || this.addInFlight !== null) return
    const state = this.sm.state
    if (state !== 'in-transaction' && state !== 'committing') return
    const batch = [...this.toAdd.entries()]
    this.toAdd.clear()
    const topics = new Map<string, number[]>()
    for (const [, { topic, partition }] of batch) {
      let list = topics.get(topic)
      if (list === undefined) topics.set(topic, (list = []))
      list.push(partition)
    }
    const v3AndBelowTopics = [...topics].map(([name, partitions]) => ({ name, partitions }))
    this.addInFlight = this.requests
      .send(
        'AddPartitionsToTxn',
        { type: 'transaction', key: this.transactionalId },
        AddPartitionsToTxn,
        () => ({ v3AndBelowTransactionalId: this.transactionalId, v3AndBelowProducerId: this.identity.producerId, v3AndBelowProducerEpoch: this.identity.producerEpoch, v3AndBelowTopics }),
        (r) => {
          if (r.errorCode !== 0) return { code: r.errorCode }
          for (const topic of r.resultsByTopicV3AndBelow) {
            // OPERATION_NOT_ATTEMPTED marks the partitions held back by another's error; that one is reported.
            const failed = topic.resultsByPartition.find((p) => p.partitionErrorCode !== 0 && p.partitionErrorCode !== KafkaErrorCode.OPERATION_NOT_ATTEMPTED)
            if (failed !== undefined) return { code: failed.partitionErrorCode, message: `${topic.name}-${failed.partitionIndex}` }
          }
          return null
        },
      )
      .then(
        () => {
          for (const [key] of batch) this.added.add(key)
          this.started = true
          this.control?.wake()
        },
        (error: unknown) => {
          this.fail(error, 'AddPartitionsToTxn')
        },
      )
      .finally(() => {
        this.addInFlight = null
        if (this.toAdd.size > 0) this.scheduleAdd()
      })
  }

  private async commitOffsets(offsets: readonly TransactionOffset[], group: ConsumerGroupMetadata): Promise<void> {
    try {
      await this.requests.send(
        'AddOffsetsToTxn',
        { type: 'transaction', key: this.transactionalId },
        AddOffsetsToTxn,
        () => ({ transactionalId: this.transactionalId, producerId: this.identity.producerId, producerEpoch: this.identity.producerEpoch, groupId: group.groupId }),
        (r) => (r.errorCode === 0 ? null : { code: r.errorCode }),
      )
    } catch (error) {
      throw this.fail(error, 'AddOffsetsToTxn')
    }
    this.started = true
    const topics = new Map<string, Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: string | null }>>()
    for (const o of offsets) {
      let list = topics.get(o.topic)
      if (list === undefined) topics.set(o.topic, (list = []))
      list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: o.leaderEpoch ?? -1, committedMetadata: o.metadata ?? null })
    }
    try {
      await this.requests.send(
        'TxnOffsetCommit',
        { type: 'group', key: group.groupId },
        TxnOffsetCommit,
        (version) => ({
          transactionalId: this.transactionalId,
          groupId: group.groupId,
          producerId: this.identity.producerId,
          producerEpoch: this.identity.producerEpoch,
          // KIP-447: the coordinator refuses offsets from a member of an older generation.
          ...(version >= 3 ? { generationId: group.generationId, memberId: group.memberId, groupInstanceId: group.groupInstanceId } : {}),
          topics: [...topics].map(([name, partitions]) => ({
            name,
            partitions: version >= 2 ? partitions : partitions.map(({ committedLeaderEpoch: _, ...rest }) => rest),
          })),
        }),
        (r) => {
          for (const topic of r.topics) {
            const failed = topic.partitions.find((p) => p.errorCode !== 0)
            if (failed !== undefined) return { code: failed.errorCode, message: `${topic.name}-${failed.partitionIndex}` }
          }
          return null
        },
      )
    } catch (error) {
      throw this.fail(error, 'TxnOffsetCommit')
    }
  }

  /** Classifies a failure, moves to the state it calls for, and returns the error the application gets. */
  private fail(error: unknown, request: TransactionRequestKind): Error {
    if (this.fatal !== undefined) return this.fatal
    const verdict = classifyTransactionError(error, request)
    if (verdict.kind === 'fenced' || verdict.kind === 'fatal') return this.toFatal(error)
    // A retriable error that ran out of time leaves this transaction unable to commit: abort it.
    this.toAbortable(error, verdict.kind === 'abortable' && verdict.bumpEpoch)
    return this.abortableError!
  }

  private toAbortable(cause: unknown, bumpEpoch: boolean): void {
    const state = this.sm.state
    if (bumpEpoch) this.epochBumpRequired = true
    if (state === 'abortable-error') return
    if (state !== 'in-transaction' && state !== 'committing') return
    const why = cause instanceof Error ? cause.message : String(cause)
    this.abortableError = new TransactionAbortableError(`the transaction of ${JSON.stringify(this.transactionalId)} cannot commit: ${why}`, cause)
    this.sm.to('abortable-error')
    this.control?.abortUndrained(this.abortableError)
  }

  private toFatal(cause: unknown): Error {
    if (this.fatal !== undefined) return this.fatal
    const verdict = classifyTransactionError(cause, 'EndTxn')
    this.fatal =
      cause instanceof TransactionFatalError
        ? cause
        : verdict.kind === 'fenced'
          ? new ProducerFencedError(this.transactionalId, cause)
          : new TransactionFatalError(
              `the transactional producer ${JSON.stringify(this.transactionalId)} failed for good: ${cause instanceof Error ? cause.message : String(cause)}. Close it and create a new one`,
              cause,
            )
    if (this.sm.state !== 'closed') this.sm.to('fatal-error')
    this.control?.abortUndrained(this.fatal)
    return this.fatal
  }
}

