/**
 * The transaction coordinator of the embedded broker (KIP-98, with KIP-360's epoch bumps and
 * KIP-447's group metadata): one per broker process, shared by its nodes. Which node answers for
 * a transactional id is decided by `coordinatorNode` (Kafka's hashing over __transaction_state);
 * handlers refuse the others with NOT_COORDINATOR before calling in here.
 *
 * Every method finishes its state changes before it returns, on Node's one thread, so no request
 * sees a transaction half-updated. Ending a transaction follows Kafka's two phases: the decision
 * (PrepareCommit / PrepareAbort) is stored first, then the markers are written to every partition
 * and the offsets applied or dropped (completion.ts), then the Complete state is stored. A crash in
 * between is finished on the next start from the stored decision, so a transaction is never left
 * half-visible. Markers are written at once unless a test delays them (`delayMarkers`).
 *
 * Files of this folder:
 *   state.ts / metadata.ts   the states, one transactional id's state; partition-state.ts a partition's open and aborted transactions
 *   completion.ts      markers, offsets, timeouts and recovery; admin.ts DescribeTransactions / ListTransactions
 *   store.ts / file-store.ts   what is persisted; config.ts options; broker-context.ts the broker glue
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import type { RecordBatchHeader } from '../log/batches.js'
import { coordinatorNodeFor, offsetsPartitionFor } from '../groups/placement.js'
import type { TransactionCoordinatorConfig } from './config.js'
import { Completion, type CompletionDeps } from './completion.js'
import { CONSUMER_OFFSETS_TOPIC, MAX_USABLE_EPOCH, NO_EPOCH, TransactionMetadata, type PendingOffset } from './metadata.js'
import type { TransactionStore } from './store.js'

const E = KafkaErrorCode

export interface InitProducerIdRequest {
  readonly transactionalId: string
  readonly transactionTimeoutMs: number
  /** -1 unless the producer asks for a KIP-360 bump of the id and epoch it holds. */
  readonly producerId: bigint
  readonly producerEpoch: number
}

export interface ProducerIdAndEpoch {
  readonly errorCode: number
  readonly producerId: bigint
  readonly producerEpoch: number
}

export interface TransactionRef {
  readonly transactionalId: string
  readonly producerId: bigint
  readonly producerEpoch: number
}

export interface TopicPartitionRef {
  readonly topic: string
  readonly partition: number
}

/** A produced batch's problem with the transaction it claims to belong to. */
export interface ProduceProblem {
  readonly errorCode: number
  readonly message: string
}

const failed = (errorCode: number): ProducerIdAndEpoch => ({ errorCode, producerId: -1n, producerEpoch: -1 })

export interface TransactionCoordinatorInit extends CompletionDeps {
  readonly config: TransactionCoordinatorConfig
  readonly store: TransactionStore
  readonly allocateProducerId: () => bigint
  readonly observeProducerId: (producerId: bigint) => void
}

export class TransactionCoordinator {
  readonly config: TransactionCoordinatorConfig
  readonly transactions = new Map<string, TransactionMetadata>()
  private readonly store: TransactionStore
  private readonly completion: Completion
  private readonly allocateProducerId: () => bigint
  /** Test control: transactional ids moved to another node than their hash picks. */
  private readonly movedCoordinators = new Map<string, number>()
  private closed = false

  constructor(init: TransactionCoordinatorInit) {
    this.config = init.config
    this.store = init.store
    this.allocateProducerId = init.allocateProducerId
    this.completion = new Completion(init, init.config.scheduler, (txn) => this.save(txn))
    const loaded = this.store.load().map((stored) => TransactionMetadata.restore(stored))
    for (const txn of loaded) {
      this.transactions.set(txn.transactionalId, txn)
      init.observeProducerId(txn.producerId)
    }
    this.completion.recover(this.transactions)
  }

  private get now(): number {
    return this.config.scheduler.now()
  }

  /** The node that coordinates `transactionalId` in a cluster of `nodeCount` nodes. */
  coordinatorNode(transactionalId: string, nodeCount: number): number {
    const moved = this.movedCoordinators.get(transactionalId)
    if (moved !== undefined && moved < nodeCount) return moved
    return coordinatorNodeFor(transactionalId, this.config.stateTopicPartitions, nodeCount)
  }

  /** Test control: the coordinator of `transactionalId` moves to `nodeId`, as after a failover. */
  moveCoordinator(transactionalId: string, nodeId: number): void {
    this.movedCoordinators.set(transactionalId, nodeId)
  }

  /** Test control: hold the markers of every transaction ended from now on for `ms` (the state stays Prepare*). */
  delayMarkers(ms: number): () => void {
    return this.completion.delayMarkers(ms)
  }

  initProducerId(req: InitProducerIdRequest): ProducerIdAndEpoch {
    if (this.closed) return failed(E.NOT_COORDINATOR)
    if (req.transactionalId.length === 0) return failed(E.INVALID_REQUEST)
    if (req.transactionTimeoutMs <= 0 || req.transactionTimeoutMs > this.config.maxTimeoutMs) return failed(E.INVALID_TRANSACTION_TIMEOUT)
    const expected = req.producerId >= 0n ? { producerId: req.producerId, producerEpoch: req.producerEpoch } : null
    const txn = this.transactions.get(req.transactionalId)
    if (txn === undefined) {
      const created = new TransactionMetadata(req.transactionalId, this.allocateProducerId(), 0, req.transactionTimeoutMs, this.now)
      this.transactions.set(req.transactionalId, created)
      this.save(created)
      return { errorCode: E.NONE, producerId: created.producerId, producerEpoch: 0 }
    }
    if (txn.state === 'PrepareCommit' || txn.state === 'PrepareAbort' || txn.state === 'PrepareEpochFence') return failed(E.CONCURRENT_TRANSACTIONS)
    if (expected !== null && !isValidProducerId(txn, expected.producerId, expected.producerEpoch)) return failed(E.PRODUCER_FENCED)
    if (txn.state === 'Ongoing') {
      // A new instance takes over: the old one is fenced by the bump, its transaction aborted.
      // The caller retries on CONCURRENT_TRANSACTIONS and gets the epoch after that.
      txn.fenceEpoch()
      this.completion.end(txn, 'abort')
      return failed(E.CONCURRENT_TRANSACTIONS)
    }
    if (txn.state === 'Dead') return failed(E.INVALID_TXN_STATE)
    if (txn.producerEpoch >= MAX_USABLE_EPOCH && (expected === null || expected.producerEpoch === txn.producerEpoch)) {
      txn.previousProducerId = txn.producerId
      txn.producerId = this.allocateProducerId()
      txn.producerEpoch = 0
      txn.lastProducerEpoch = NO_EPOCH
    } else if (expected === null || expected.producerEpoch === txn.producerEpoch) {
      txn.lastProducerEpoch = txn.producerEpoch
      txn.producerEpoch++
    } else if (expected.producerEpoch !== txn.lastProducerEpoch) {
      return failed(E.PRODUCER_FENCED)
    }
    // (expected epoch == lastProducerEpoch: a retry of the bump just made; answer it again.)
    txn.timeoutMs = req.transactionTimeoutMs
    txn.state = 'Empty'
    txn.clearTransaction()
    this.save(txn)
    return { errorCode: E.NONE, producerId: txn.producerId, producerEpoch: txn.producerEpoch }
  }

  /**
   * AddPartitionsToTxn: one error for the whole request (the handler spreads it over the
   * partitions). With `verifyOnly` (v4+, KIP-890) nothing is added: each partition is answered
   * NONE if it is in the transaction and INVALID_TXN_STATE if not.
   */
  addPartitions(ref: TransactionRef, partitions: readonly TopicPartitionRef[], verifyOnly = false): number | number[] {
    const checked = this.checkOwner(ref)
    if (typeof checked === 'number') return checked
    const txn = checked
    if (txn.state === 'PrepareCommit' || txn.state === 'PrepareAbort') return E.CONCURRENT_TRANSACTIONS
    if (txn.state === 'PrepareEpochFence' || txn.state === 'Dead') return E.INVALID_TXN_STATE
    if (verifyOnly) return partitions.map((p) => (txn.state === 'Ongoing' && txn.hasPartition(p.topic, p.partition) ? E.NONE : E.INVALID_TXN_STATE))
    if (txn.state === 'Ongoing' && partitions.every((p) => txn.hasPartition(p.topic, p.partition))) return E.NONE
    for (const p of partitions) txn.addPartition(p.topic, p.partition)
    this.begin(txn)
    this.save(txn)
    return E.NONE
  }

  /** AddOffsetsToTxn: the group's offsets partition joins the transaction, as in Kafka. */
  addOffsets(ref: TransactionRef, groupId: string): number {
    const result = this.addPartitions(ref, [{ topic: CONSUMER_OFFSETS_TOPIC, partition: offsetsPartitionFor(groupId, 50) }])
    if (result !== E.NONE) return typeof result === 'number' ? result : E.UNKNOWN_SERVER_ERROR
    const txn = this.transactions.get(ref.transactionalId)!
    if (!txn.groups.has(groupId)) {
      txn.groups.add(groupId)
      this.save(txn)
    }
    return E.NONE
  }

  /**
   * The producer side of TxnOffsetCommit, after the group coordinator accepted the group metadata:
   * the offsets wait in the transaction until it commits. One error for all offsets, or null.
   */
  checkOffsetCommit(ref: TransactionRef, groupId: string): number | null {
    const txn = this.transactions.get(ref.transactionalId)
    if (this.closed) return E.NOT_COORDINATOR
    if (txn === undefined || txn.producerId !== ref.producerId) return E.INVALID_PRODUCER_ID_MAPPING
    // Kafka finds the fencing when it appends to the offsets partition, whose answer is this one.
    if (ref.producerEpoch !== txn.producerEpoch) return E.INVALID_PRODUCER_EPOCH
    if (txn.state === 'PrepareCommit' || txn.state === 'PrepareAbort') return E.CONCURRENT_TRANSACTIONS
    if (txn.state !== 'Ongoing' || !txn.groups.has(groupId)) return E.INVALID_TXN_STATE
    return null
  }

  addPendingOffsets(ref: TransactionRef, groupId: string, offsets: readonly PendingOffset[]): void {
    const txn = this.transactions.get(ref.transactionalId)!
    for (const o of offsets) txn.addPendingOffset(groupId, o)
    this.save(txn)
  }

  /** Whether an open transaction holds an offset of this group's partition (OffsetFetch's requireStable). */
  hasPendingOffset(groupId: string, topic: string, partition: number): boolean {
    for (const txn of this.transactions.values()) if (txn.isOpen && txn.hasPendingOffset(groupId, topic, partition)) return true
    return false
  }

  endTransaction(ref: TransactionRef, commit: boolean): number {
    const checked = this.checkOwner(ref)
    if (typeof checked === 'number') return checked
    const txn = checked
    switch (txn.state) {
      case 'Ongoing':
        this.completion.end(txn, commit ? 'commit' : 'abort')
        return E.NONE
      case 'PrepareCommit':
        return commit ? E.CONCURRENT_TRANSACTIONS : E.INVALID_TXN_STATE
      case 'PrepareAbort':
        return commit ? E.INVALID_TXN_STATE : E.CONCURRENT_TRANSACTIONS
      // A retry of an EndTxn that already went through gets the same answer.
      case 'CompleteCommit':
        return commit ? E.NONE : E.INVALID_TXN_STATE
      case 'CompleteAbort':
        return commit ? E.INVALID_TXN_STATE : E.NONE
      default:
        return E.INVALID_TXN_STATE
    }
  }

  /**
   * The leader's check of a transactional batch (KIP-890's verification, done in process): the
   * producer must own the transaction with its current epoch, and have added the partition.
   */
  verifyProduce(transactionalId: string, header: RecordBatchHeader, topic: string, partition: number): ProduceProblem | null {
    const txn = this.transactions.get(transactionalId)
    if (txn === undefined || txn.producerId !== header.producerId) {
      return { errorCode: E.INVALID_PRODUCER_ID_MAPPING, message: `producer ${header.producerId} does not hold transactional id ${transactionalId}; call InitProducerId` }
    }
    if (header.producerEpoch < txn.producerEpoch) {
      return { errorCode: E.INVALID_PRODUCER_EPOCH, message: `producer epoch ${header.producerEpoch} was fenced by epoch ${txn.producerEpoch}: another producer took over ${transactionalId}, or its transaction timed out` }
    }
    if (header.producerEpoch > txn.producerEpoch || txn.state !== 'Ongoing' || !txn.hasPartition(topic, partition)) {
      return { errorCode: E.INVALID_TXN_STATE, message: `${topic}-${partition} is not part of an open transaction of ${transactionalId}; call AddPartitionsToTxn first` }
    }
    return null
  }

  /** Stops every timer and pending marker write (a crash leaves Prepare* states for the next start) and closes the store. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.completion.close(this.transactions.values())
    this.store.close()
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Kafka's ownership checks shared by AddPartitionsToTxn, AddOffsetsToTxn and EndTxn. */
  private checkOwner(ref: TransactionRef): TransactionMetadata | number {
    if (this.closed) return E.NOT_COORDINATOR
    if (ref.transactionalId.length === 0) return E.INVALID_REQUEST
    const txn = this.transactions.get(ref.transactionalId)
    if (txn === undefined || txn.producerId !== ref.producerId) return E.INVALID_PRODUCER_ID_MAPPING
    if (txn.producerEpoch !== ref.producerEpoch) return E.PRODUCER_FENCED
    return txn
  }

  /** Empty or Complete* → Ongoing: the transaction starts now and its timeout with it. */
  private begin(txn: TransactionMetadata): void {
    if (txn.state === 'Ongoing') return
    txn.state = 'Ongoing'
    txn.startTimestamp = this.now
    this.completion.scheduleTimeout(txn)
  }

  private save(txn: TransactionMetadata): void {
    txn.lastUpdateTimestamp = this.now
    if (!this.closed) this.store.save(txn.snapshot())
  }
}

/**
 * Kafka's rule for a KIP-360 InitProducerId: the id must be the current one, or the previous one
 * when the epoch ran out and the id was replaced.
 */
function isValidProducerId(txn: TransactionMetadata, producerId: bigint, producerEpoch: number): boolean {
  return txn.producerEpoch === NO_EPOCH || producerId === txn.producerId || (producerId === txn.previousProducerId && producerEpoch >= MAX_USABLE_EPOCH)
}
