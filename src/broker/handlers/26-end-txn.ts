/**
 * EndTxn, v0-4: commits or aborts the transaction. The decision is stored, then COMMIT or ABORT
 * markers go to every partition of the transaction and its offsets become visible or are dropped
 * (transactions/completion.ts). An EndTxn with nothing added is INVALID_TXN_STATE, a stale epoch
 * (fenced, or aborted by the timeout) PRODUCER_FENCED, INVALID_PRODUCER_EPOCH below v2.
 * Leaves out: v5 (KIP-890 part 2's epoch bump on every transaction; not a stable version yet).
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { EndTxn } from '../../protocol/generated/index.js'
import { fencedForVersion, transactionCoordinatorOf, transactionsHere } from '../transactions/broker-context.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: EndTxn,
  minVersion: 0,
  maxVersion: 4,
  handle: (request, ctx) => {
    if (!transactionsHere(ctx, request.transactionalId)) return { throttleTimeMs: 0, errorCode: KafkaErrorCode.NOT_COORDINATOR }
    const errorCode = transactionCoordinatorOf(ctx).endTransaction(request, request.committed)
    return { throttleTimeMs: 0, errorCode: fencedForVersion(errorCode, ctx.version, 2) }
  },
  errorResponse: (_request, errorCode) => ({ throttleTimeMs: 0, errorCode }),
})
