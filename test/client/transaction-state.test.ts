/**
 * The transaction state machine allows exactly the moves a transactional producer needs, and the
 * error classification separates what is retried, what aborts the transaction (and whether the
 * epoch must be bumped), and what ends the producer.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { NetworkError } from '../../src/net/errors.js'
import { classifyTransactionError, ProducerFencedError, TransactionAbortableError, TransactionFatalError, TransactionStateError, type TransactionRequestKind } from '../../src/client/producer/transaction-errors.js'
import { canMove, TransactionStateMachine, type TransactionState } from '../../src/client/producer/transaction-state.js'
import { KafkaError, KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'

const STATES: TransactionState[] = ['uninitialized', 'initializing', 'ready', 'in-transaction', 'committing', 'aborting', 'abortable-error', 'fatal-error', 'closed']

const ALLOWED = new Set([
  'uninitialized>initializing',
  'initializing>ready',
  'initializing>uninitialized',
  'ready>in-transaction',
  'ready>initializing',
  'in-transaction>committing',
  'in-transaction>aborting',
  'in-transaction>abortable-error',
  'committing>ready',
  'committing>abortable-error',
  'aborting>ready',
  'aborting>initializing',
  'abortable-error>aborting',
  'abortable-error>abortable-error',
])

describe('transaction state machine', () => {
  it('allows exactly the listed moves, plus fatal-error and closed from any live state', () => {
    for (const from of STATES) {
      for (const to of STATES) {
        const live = from !== 'closed' && from !== 'fatal-error'
        const expected = ALLOWED.has(`${from}>${to}`) || (to === 'closed' && from !== 'closed') || (to === 'fatal-error' && live)
        assert.equal(canMove(from, to), expected, `${from} -> ${to}`)
      }
    }
  })

  it('never lets an abortable transaction commit, nor a fatal one do anything', () => {
    assert.equal(canMove('abortable-error', 'committing'), false)
    assert.equal(canMove('aborting', 'committing'), false)
    for (const to of STATES) if (to !== 'closed') assert.equal(canMove('fatal-error', to), false, `fatal-error -> ${to}`)
  })

  it('refuses a move with TransactionStateError naming the state', () => {
    const sm = new TransactionStateMachine()
    assert.throws(
      () => sm.to('in-transaction'),
      (e) => e instanceof TransactionStateError && e.state === 'uninitialized',
    )
    sm.to('initializing')
    sm.to('ready')
    assert.throws(() => sm.require('commit', 'in-transaction'), /beginTransaction/)
    sm.to('in-transaction')
    sm.to('abortable-error')
    assert.throws(() => sm.require('commit', 'in-transaction'), /abortTransaction/)
  })
})

function kafka(code: number): KafkaError {
  return new KafkaError(code)
}

describe('transaction error classification', () => {
  const coordinatorRequests: TransactionRequestKind[] = ['InitProducerId', 'AddPartitionsToTxn', 'AddOffsetsToTxn', 'TxnOffsetCommit', 'EndTxn']

  it('retries coordinator moves, loading and concurrent transactions on every coordinator request', () => {
    for (const request of coordinatorRequests) {
      assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.NOT_COORDINATOR), request), { kind: 'retry', coordinatorMoved: true }, request)
      assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.COORDINATOR_NOT_AVAILABLE), request), { kind: 'retry', coordinatorMoved: true }, request)
      assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS), request), { kind: 'retry', coordinatorMoved: false }, request)
      assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.CONCURRENT_TRANSACTIONS), request), { kind: 'retry', coordinatorMoved: false }, request)
      assert.deepEqual(classifyTransactionError(new NetworkError('NET_CONNECTION_LOST', { broker: 'localhost:1' }, 'gone'), request), { kind: 'retry', coordinatorMoved: true }, request)
    }
  })

  it('treats PRODUCER_FENCED as fenced everywhere, and INVALID_PRODUCER_EPOCH as fenced on coordinator requests only', () => {
    for (const request of [...coordinatorRequests, 'Produce'] as const) {
      assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.PRODUCER_FENCED), request), { kind: 'fenced' }, request)
    }
    for (const request of coordinatorRequests) assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.INVALID_PRODUCER_EPOCH), request), { kind: 'fenced' }, request)
    // KIP-588: on Produce it may be a coordinator-side timeout abort; the abort with a bump tells.
    assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.INVALID_PRODUCER_EPOCH), 'Produce'), { kind: 'abortable', bumpEpoch: true })
  })

  it('makes failed records abortable with an epoch bump, and group refusals abortable without one', () => {
    assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.INVALID_RECORD), 'Produce'), { kind: 'abortable', bumpEpoch: true })
    assert.deepEqual(classifyTransactionError(new Error('delivery timed out'), 'Produce'), { kind: 'abortable', bumpEpoch: true })
    assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), 'Produce'), { kind: 'abortable', bumpEpoch: true })
    for (const code of [KafkaErrorCode.ILLEGAL_GENERATION, KafkaErrorCode.UNKNOWN_MEMBER_ID, KafkaErrorCode.FENCED_INSTANCE_ID, KafkaErrorCode.REBALANCE_IN_PROGRESS]) {
      assert.deepEqual(classifyTransactionError(kafka(code), 'TxnOffsetCommit'), { kind: 'abortable', bumpEpoch: false }, String(code))
    }
    assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.TRANSACTION_ABORTABLE), 'AddPartitionsToTxn'), { kind: 'abortable', bumpEpoch: false })
    assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.UNKNOWN_PRODUCER_ID), 'AddPartitionsToTxn'), { kind: 'abortable', bumpEpoch: true })
    assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED), 'AddPartitionsToTxn'), { kind: 'abortable', bumpEpoch: false })
  })

  it('ends the producer on refusals an abort cannot fix', () => {
    for (const code of [KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, KafkaErrorCode.INVALID_TXN_STATE, KafkaErrorCode.INVALID_TRANSACTION_TIMEOUT, KafkaErrorCode.CLUSTER_AUTHORIZATION_FAILED]) {
      for (const request of coordinatorRequests) assert.deepEqual(classifyTransactionError(kafka(code), request), { kind: 'fatal' }, `${code} on ${request}`)
    }
    assert.deepEqual(classifyTransactionError(kafka(KafkaErrorCode.UNKNOWN_PRODUCER_ID), 'InitProducerId'), { kind: 'fatal' })
  })

  it('keeps its own typed errors in their kind', () => {
    assert.deepEqual(classifyTransactionError(new ProducerFencedError('t'), 'EndTxn'), { kind: 'fenced' })
    assert.deepEqual(classifyTransactionError(new TransactionFatalError('x'), 'EndTxn'), { kind: 'fatal' })
    assert.deepEqual(classifyTransactionError(new TransactionAbortableError('x', undefined), 'EndTxn'), { kind: 'abortable', bumpEpoch: false })
    assert.equal(new ProducerFencedError('t').code, 'PRODUCER_FENCED')
    assert.ok(new ProducerFencedError('t') instanceof TransactionFatalError)
    assert.equal(new TransactionAbortableError('x', undefined).abortable, true)
  })
})
