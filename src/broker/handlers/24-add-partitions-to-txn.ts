/**
 * AddPartitionsToTxn, v0-5. v0-3 (clients) add the partitions of one transaction; v4+ (KIP-890,
 * brokers) batch several transactions and may only verify (verifyOnly) that partitions are in
 * them. Partitions of unknown topics get UNKNOWN_TOPIC_OR_PARTITION and the rest of that
 * transaction OPERATION_NOT_ATTEMPTED, as Kafka answers; otherwise the coordinator's one answer
 * goes to every partition. PRODUCER_FENCED is INVALID_PRODUCER_EPOCH below v2.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import {
  AddPartitionsToTxn,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnRequestAddPartitionsToTxnTopic,
  type AddPartitionsToTxnResponseAddPartitionsToTxnTopicResultInit,
  type AddPartitionsToTxnResponseInit,
} from '../../protocol/generated/index.js'
import { fencedForVersion, transactionCoordinatorOf, transactionsHere } from '../transactions/broker-context.js'
import { defineHandler, type RequestContext } from './handler.js'

interface Transaction {
  readonly transactionalId: string
  readonly producerId: bigint
  readonly producerEpoch: number
  readonly verifyOnly: boolean
  readonly topics: readonly AddPartitionsToTxnRequestAddPartitionsToTxnTopic[]
}

function transactionsOf(request: AddPartitionsToTxnRequest, version: number): Transaction[] {
  if (version >= 4) return request.transactions
  return [
    {
      transactionalId: request.v3AndBelowTransactionalId,
      producerId: request.v3AndBelowProducerId,
      producerEpoch: request.v3AndBelowProducerEpoch,
      verifyOnly: false,
      topics: request.v3AndBelowTopics,
    },
  ]
}

function resultsOf(topics: readonly AddPartitionsToTxnRequestAddPartitionsToTxnTopic[], errorOf: (topic: string, partition: number, i: number) => number) {
  let i = 0
  return topics.map(
    (t): AddPartitionsToTxnResponseAddPartitionsToTxnTopicResultInit => ({
      name: t.name,
      resultsByPartition: t.partitions.map((partitionIndex) => ({ partitionIndex, partitionErrorCode: errorOf(t.name, partitionIndex, i++) })),
    }),
  )
}

function add(txn: Transaction, ctx: RequestContext): AddPartitionsToTxnResponseAddPartitionsToTxnTopicResultInit[] {
  const all = (errorCode: number) => resultsOf(txn.topics, () => errorCode)
  if (!transactionsHere(ctx, txn.transactionalId)) return all(KafkaErrorCode.NOT_COORDINATOR)
  const unknown = (topic: string, partition: number): boolean => ctx.cluster.partition(topic, partition) === undefined
  if (txn.topics.some((t) => t.partitions.some((p) => unknown(t.name, p)))) {
    return resultsOf(txn.topics, (topic, partition) => (unknown(topic, partition) ? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION : KafkaErrorCode.OPERATION_NOT_ATTEMPTED))
  }
  const partitions = txn.topics.flatMap((t) => t.partitions.map((partition) => ({ topic: t.name, partition })))
  const result = transactionCoordinatorOf(ctx).addPartitions(txn, partitions, txn.verifyOnly)
  if (typeof result === 'number') return all(fencedForVersion(result, ctx.version, 2))
  return resultsOf(txn.topics, (_topic, _partition, i) => result[i]!)
}

function respond(request: AddPartitionsToTxnRequest, ctx: RequestContext, answer: (txn: Transaction) => AddPartitionsToTxnResponseAddPartitionsToTxnTopicResultInit[]): AddPartitionsToTxnResponseInit {
  const transactions = transactionsOf(request, ctx.version)
  if (ctx.version >= 4) {
    return { throttleTimeMs: 0, errorCode: 0, resultsByTransaction: transactions.map((t) => ({ transactionalId: t.transactionalId, topicResults: answer(t) })) }
  }
  return { throttleTimeMs: 0, resultsByTopicV3AndBelow: answer(transactions[0]!) }
}

export default defineHandler({
  api: AddPartitionsToTxn,
  minVersion: 0,
  maxVersion: 5,
  handle: (request, ctx) => respond(request, ctx, (txn) => add(txn, ctx)),
  errorResponse: (request, errorCode, ctx) => respond(request, ctx, (txn) => resultsOf(txn.topics, () => errorCode)),
})
