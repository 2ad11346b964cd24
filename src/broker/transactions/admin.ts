/**
 * The admin views of the transaction coordinator (KIP-664): DescribeTransactions and
 * ListTransactions, from the same state the coordinator acts on.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import type { TransactionMetadata } from './metadata.js'
import { TRANSACTION_STATES, type TransactionState } from './state.js'

export interface DescribedTransaction {
  readonly errorCode: number
  readonly transactionalId: string
  readonly transactionState: string
  readonly transactionTimeoutMs: number
  readonly transactionStartTimeMs: bigint
  readonly producerId: bigint
  readonly producerEpoch: number
  readonly topics: { topic: string; partitions: number[] }[]
}

/** The answer for a transactional id that cannot be described, with why. */
export function undescribedTransaction(transactionalId: string, errorCode: number): DescribedTransaction {
  return {
    errorCode,
    transactionalId,
    transactionState: '',
    transactionTimeoutMs: 0,
    transactionStartTimeMs: -1n,
    producerId: -1n,
    producerEpoch: -1,
    topics: [],
  }
}

export function describeTransaction(transactions: ReadonlyMap<string, TransactionMetadata>, transactionalId: string): DescribedTransaction {
  const txn = transactions.get(transactionalId)
  if (txn === undefined) return undescribedTransaction(transactionalId, KafkaErrorCode.TRANSACTIONAL_ID_NOT_FOUND)
  const topics = new Map<string, number[]>()
  for (const { topic, partition } of txn.partitions.values()) {
    const list = topics.get(topic)
    if (list === undefined) topics.set(topic, [partition])
    else list.push(partition)
  }
  return {
    errorCode: KafkaErrorCode.NONE,
    transactionalId,
    transactionState: txn.state,
    transactionTimeoutMs: txn.timeoutMs,
    transactionStartTimeMs: BigInt(txn.startTimestamp),
    producerId: txn.producerId,
    producerEpoch: txn.producerEpoch,
    topics: [...topics].map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a - b) })),
  }
}

export interface ListTransactionsFilter {
  readonly states: readonly string[]
  readonly producerIds: readonly bigint[]
  /** Only transactions running at least this long; -1 for all. */
  readonly minDurationMs: number
  readonly now: number
  /** Narrows the list to the transactional ids a node coordinates. */
  readonly include: (transactionalId: string) => boolean
}

export function listTransactions(
  transactions: ReadonlyMap<string, TransactionMetadata>,
  filter: ListTransactionsFilter,
): { unknownStateFilters: string[]; transactionStates: { transactionalId: string; producerId: bigint; transactionState: string }[] } {
  const known = new Set<string>(TRANSACTION_STATES)
  const unknownStateFilters = filter.states.filter((s) => !known.has(s))
  const states = new Set(filter.states.filter((s) => known.has(s)) as TransactionState[])
  // Filtering only by unknown states matches nothing, as in Kafka.
  if (filter.states.length > 0 && states.size === 0) return { unknownStateFilters, transactionStates: [] }
  const producerIds = new Set(filter.producerIds)
  const transactionStates = [...transactions.values()]
    .filter((t) => filter.include(t.transactionalId))
    .filter((t) => states.size === 0 || states.has(t.state))
    .filter((t) => producerIds.size === 0 || producerIds.has(t.producerId))
    .filter((t) => filter.minDurationMs < 0 || (t.startTimestamp >= 0 && filter.now - t.startTimestamp >= filter.minDurationMs))
    .map((t) => ({ transactionalId: t.transactionalId, producerId: t.producerId, transactionState: t.state }))
  return { unknownStateFilters, transactionStates }
}
