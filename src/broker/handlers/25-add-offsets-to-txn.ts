/**
 * AddOffsetsToTxn, v0-4: the consumer group's offsets partition joins the transaction, so that
 * TxnOffsetCommit may follow (KIP-98). PRODUCER_FENCED is INVALID_PRODUCER_EPOCH below v2.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { AddOffsetsToTxn } from '../../protocol/generated/index.js'
import { fencedForVersion, transactionCoordinatorOf, transactionsHere } from '../transactions/broker-context.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: AddOffsetsToTxn,
  minVersion: 0,
  maxVersion: 4,
  handle: (request, ctx) => {
    if (!transactionsHere(ctx, request.transactionalId)) return { throttleTimeMs: 0, errorCode: KafkaErrorCode.NOT_COORDINATOR }
    if (request.groupId.length === 0) return { throttleTimeMs: 0, errorCode: KafkaErrorCode.INVALID_GROUP_ID }
    const errorCode = transactionCoordinatorOf(ctx).addOffsets(request, request.groupId)
    return { throttleTimeMs: 0, errorCode: fencedForVersion(errorCode, ctx.version, 2) }
  },
  errorResponse: (_request, errorCode) => ({ throttleTimeMs: 0, errorCode }),
})
