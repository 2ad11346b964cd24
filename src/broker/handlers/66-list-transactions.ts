/**
 * ListTransactions, v0-1 (KIP-664): the transactional ids this node coordinates, filtered by state
 * and producer id, and from v1 by how long the transaction has run (KIP-994). Unknown state names
 * are echoed back in unknownStateFilters, as Kafka does.
 */
import { ListTransactions } from '../../protocol/generated/index.js'
import { listTransactions } from '../transactions/admin.js'
import { transactionCoordinatorOf, transactionsHere } from '../transactions/broker-context.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: ListTransactions,
  minVersion: 0,
  maxVersion: 1,
  handle: (request, ctx) => {
    const coordinator = transactionCoordinatorOf(ctx)
    const listed = listTransactions(coordinator.transactions, {
      states: request.stateFilters,
      producerIds: request.producerIdFilters,
      minDurationMs: ctx.version >= 1 ? Number(request.durationFilter) : -1,
      now: coordinator.config.scheduler.now(),
      include: (id) => transactionsHere(ctx, id),
    })
    return { throttleTimeMs: 0, errorCode: 0, ...listed }
  },
  errorResponse: (_request, errorCode) => ({ throttleTimeMs: 0, errorCode, unknownStateFilters: [], transactionStates: [] }),
})
