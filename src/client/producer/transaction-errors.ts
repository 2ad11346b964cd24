/**
 * What a transactional producer's failures mean for the application, as three kinds:
 *
 * - retried inside the client (the coordinator moved, is loading, or is still completing the
 *   previous transaction): the application never sees them unless they outlast the timeout;
 * - abortable (`TransactionAbortableError`): this transaction cannot commit, but the producer is
 *   fine. Abort it, then run the work again in a new transaction;
 * - fatal (`ProducerFencedError`, `TransactionFatalError`): the producer cannot go on. Another
 *   instance took over its transactional id, or the coordinator refuses it for good. Close it;
 *   every later call fails with the same error.
 *
 * `classifyTransactionError` is the one place that decides, by error code and by which request
 * failed, following Kafka's clients.
 */
import { BatonError } from '../../protocol/errors/base.js'
import { KafkaError, KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { NetworkError } from '../../net/errors.js'
import { MetadataError } from '../errors.js'
// The state machine's own error lives beside it; exported here with the others.
export { TransactionStateError } from './transaction-state.js'

/** The transaction cannot commit; abort it and try the work again in a new transaction. `cause` says why. */
export class TransactionAbortableError extends BatonError {
  readonly abortable = true

  constructor(message: string, cause: unknown) {
    super('TRANSACTION_ABORTABLE', `${message.replace(/\.+$/, '')}. Abort this transaction (abortTransaction()) and run the work again in a new one`, { cause })
  }
}

/** The producer cannot be used any more; close it and create a new one. `cause` holds the broker's error. */
export class TransactionFatalError extends BatonError {
  readonly abortable = false

  constructor(message: string, cause?: unknown, code = 'TRANSACTION_FATAL') {
    super(code, message, cause === undefined ? undefined : { cause })
  }
}

/**
 * Another producer with the same transactional id initialised after this one (or the coordinator
 * bumped this producer's epoch when its transaction timed out): this one is a zombie and must stop.
 */
export class ProducerFencedError extends TransactionFatalError {
  constructor(transactionalId: string, cause?: unknown) {
    super(
      `the producer with transactional id ${JSON.stringify(transactionalId)} was fenced: a newer producer with the same transactional id ` +
        'started, or the coordinator aborted a transaction that outlived transactionTimeoutMs. Close this producer; ' +
        'the newer instance owns the transactional id now',
      cause,
      'PRODUCER_FENCED',
    )
  }
}

/** Which request a failure came from; the same code can mean different things on different requests. */
export type TransactionRequestKind = 'InitProducerId' | 'AddPartitionsToTxn' | 'AddOffsetsToTxn' | 'TxnOffsetCommit' | 'EndTxn' | 'Produce'

export type ErrorClass =
  /** Send the request again (after looking the coordinator up again when `coordinatorMoved`). */
  | { kind: 'retry'; coordinatorMoved: boolean }
  /** The transaction must be aborted; `bumpEpoch` when the sequence numbers are in doubt (KIP-360). */
  | { kind: 'abortable'; bumpEpoch: boolean }
  | { kind: 'fenced' }
  | { kind: 'fatal' }

const COORDINATOR_MOVED: ReadonlySet<number> = new Set([KafkaErrorCode.NOT_COORDINATOR, KafkaErrorCode.COORDINATOR_NOT_AVAILABLE])

const RETRIED: ReadonlySet<number> = new Set([
  KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  KafkaErrorCode.CONCURRENT_TRANSACTIONS,
  KafkaErrorCode.REQUEST_TIMED_OUT,
  KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
])

/** Never recoverable by aborting: the producer's identity or rights are gone. */
const FATAL: ReadonlySet<number> = new Set([
  KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  KafkaErrorCode.INVALID_TRANSACTION_TIMEOUT,
  KafkaErrorCode.INVALID_TXN_STATE,
  KafkaErrorCode.UNSUPPORTED_VERSION,
  KafkaErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
  KafkaErrorCode.TRANSACTION_COORDINATOR_FENCED,
])

/** The group refused the offsets: the consumer lost its partitions, so this transaction's work must not commit. */
const GROUP_MOVED_ON: ReadonlySet<number> = new Set([
  KafkaErrorCode.ILLEGAL_GENERATION,
  KafkaErrorCode.UNKNOWN_MEMBER_ID,
  KafkaErrorCode.FENCED_INSTANCE_ID,
  KafkaErrorCode.REBALANCE_IN_PROGRESS,
  KafkaErrorCode.GROUP_AUTHORIZATION_FAILED,
])

/**
 * What to do about `error` from a `request`. Produce failures reach here only once the sender has
 * given up on a batch (it retries what it can), so they make the transaction abortable; the
 * sequence numbers of a failed batch are in doubt, hence the epoch bump.
 */
export function classifyTransactionError(error: unknown, request: TransactionRequestKind): ErrorClass {
  if (error instanceof TransactionFatalError) return error instanceof ProducerFencedError ? { kind: 'fenced' } : { kind: 'fatal' }
  if (error instanceof TransactionAbortableError) return { kind: 'abortable', bumpEpoch: false }
  if (!(error instanceof KafkaError)) {
    if (request === 'Produce') return { kind: 'abortable', bumpEpoch: true }
    // A lost connection may mean a coordinator that died: look it up again.
    if (error instanceof NetworkError || error instanceof MetadataError) return error.retriable ? { kind: 'retry', coordinatorMoved: true } : { kind: 'fatal' }
    return { kind: 'fatal' }
  }
  const code = error.errorCode
  if (code === KafkaErrorCode.PRODUCER_FENCED) return { kind: 'fenced' }
  if (code === KafkaErrorCode.INVALID_PRODUCER_EPOCH) {
    // On a coordinator request (and from brokers older than KIP-588's PRODUCER_FENCED) it means a
    // newer epoch exists: fenced. On Produce, the coordinator may have aborted a transaction that
    // timed out; aborting and bumping the epoch tells which (KIP-588, KIP-360).
    return request === 'Produce' ? { kind: 'abortable', bumpEpoch: true } : { kind: 'fenced' }
  }
  if (FATAL.has(code)) return { kind: 'fatal' }
  if (code === KafkaErrorCode.TRANSACTION_ABORTABLE) return { kind: 'abortable', bumpEpoch: false }
  if (request === 'Produce') return { kind: 'abortable', bumpEpoch: true }
  if (COORDINATOR_MOVED.has(code)) return { kind: 'retry', coordinatorMoved: true }
  if (RETRIED.has(code)) return { kind: 'retry', coordinatorMoved: false }
  if (code === KafkaErrorCode.UNKNOWN_PRODUCER_ID || code === KafkaErrorCode.INVALID_PRODUCER_ID_MAPPING) {
    // The coordinator forgot this producer id (it expired): only a new epoch can go on (KIP-360).
    return request === 'InitProducerId' ? { kind: 'fatal' } : { kind: 'abortable', bumpEpoch: true }
  }
  if (request === 'TxnOffsetCommit' && GROUP_MOVED_ON.has(code)) return { kind: 'abortable', bumpEpoch: false }
  if (code === KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED || code === KafkaErrorCode.GROUP_AUTHORIZATION_FAILED) return { kind: 'abortable', bumpEpoch: false }
  if (error.retriable) return { kind: 'retry', coordinatorMoved: false }
  return { kind: 'fatal' }
}
