/**
 * InitProducerId, v0-5, for idempotent producers: a new producer id with epoch 0, or (KIP-360, v3+)
 * the next epoch of an id the producer already holds. A transactional id is refused with
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED until the transaction coordinator exists; the transaction
 * APIs are not advertised, so conforming clients never get that far.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { InitProducerId } from '../../protocol/generated/index.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: InitProducerId,
  minVersion: 0,
  maxVersion: 5,
  handle: (request, ctx) => {
    if (request.transactionalId !== null) {
      return { throttleTimeMs: 0, errorCode: KafkaErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, producerId: -1n, producerEpoch: -1 }
    }
    if (request.producerId >= 0n) {
      // Kafka gives a producer without a transactional id a new id whatever it sends; some clients
      // send 0/0 on their first call. An id this broker knows at that epoch gets the next epoch.
      const bumped = ctx.cluster.producerIds.bumpEpoch(request.producerId, request.producerEpoch)
      if (bumped !== null) return { throttleTimeMs: 0, errorCode: 0, ...bumped }
    }
    return { throttleTimeMs: 0, errorCode: 0, ...ctx.cluster.producerIds.allocate() }
  },
  errorResponse: (_request, errorCode) => ({ throttleTimeMs: 0, errorCode, producerId: -1n, producerEpoch: -1 }),
})
