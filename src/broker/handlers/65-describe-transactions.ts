/**
 * DescribeTransactions, v0 (KIP-664): the state, timeout, start, producer id and epoch and
 * partitions of each transactional id this node coordinates; others get NOT_COORDINATOR, unknown
 * ids TRANSACTIONAL_ID_NOT_FOUND.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { DescribeTransactions } from '../../protocol/generated/index.js'
import { describeTransaction, undescribedTransaction } from '../transactions/admin.js'
import { transactionCoordinatorOf, transactionsHere } from '../transactions/broker-context.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: DescribeTransactions,
  minVersion: 0,
  maxVersion: 0,
  handle: (request, ctx) => ({
    throttleTimeMs: 0,
    transactionStates: request.transactionalIds.map((id) =>
      transactionsHere(ctx, id) ? describeTransaction(transactionCoordinatorOf(ctx).transactions, id) : undescribedTransaction(id, KafkaErrorCode.NOT_COORDINATOR),
    ),
  }),
  errorResponse: (request, errorCode) => ({ throttleTimeMs: 0, transactionStates: request.transactionalIds.map((id) => undescribedTransaction(id, errorCode)) }),
})
