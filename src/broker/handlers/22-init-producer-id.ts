/**
 * InitProducerId, v0-5. Without a transactional id: a fresh producer id with epoch 0, whatever
 * producer id and epoch the request carries, as Kafka does (it accepts them blindly). With one, the
 * transaction coordinator allocates or reuses the id and bumps its epoch, fencing the previous
 * producer and aborting its open transaction first (CONCURRENT_TRANSACTIONS until that is done);
 * from v3 a producer that gives its id and epoch asks for the KIP-360 bump.
 * PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH below v4, which cannot carry it.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { InitProducerId } from '../../protocol/generated/index.js'
import { fencedForVersion, transactionCoordinatorOf, transactionsHere } from '../transactions/broker-context.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  handle: (request, ctx) => {
    if (request.transactionalId === null) {
      return { throttleTimeMs: 0, errorCode: 0, producerId: ctx.cluster.producerIds.allocate(), producerEpoch: 0 }
    }
    if (!transactionsHere(ctx, request.transactionalId)) return { throttleTimeMs: 0, errorCode: KafkaErrorCode.NOT_COORDINATOR, producerId: -1n, producerEpoch: -1 }
    const result = transactionCoordinatorOf(ctx).initProducerId({
      transactionalId: request.transactionalId,
      transactionTimeoutMs: request.transactionTimeoutMs,
      producerId: request.producerId,
      producerEpoch: request.producerEpoch,
    })
    return { throttleTimeMs: 0, ...result, errorCode: fencedForVersion(result.errorCode, ctx.version, 4) }
  },
  errorResponse: (_request, errorCode) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 }),
})
