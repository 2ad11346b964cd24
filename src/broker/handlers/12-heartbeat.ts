/**
 * Heartbeat, v0-4, classic protocol. v3+ carries group.instance.id (KIP-345). During a rebalance
 * the answer is REBALANCE_IN_PROGRESS, which tells the member to rejoin.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { Heartbeat } from '../../protocol/generated/index.js'
import { coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: Heartbeat,
  minVersion: 0,
  maxVersion: 4,
  handle: (request, ctx) => {
    if (!coordinatesHere(ctx, request.groupId)) return { errorCode: KafkaErrorCode.NOT_COORDINATOR }
    return { errorCode: groupCoordinatorOf(ctx).heartbeat(request) }
  },
  errorResponse: (_request, errorCode) => ({ errorCode }),
})
