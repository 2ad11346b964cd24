/**
 * ConsumerGroupHeartbeat, v0-1 (KIP-848): join (epoch 0), heartbeat, leave (-1) and a static
 * member's temporary leave (-2) of a consumer group; the coordinator's logic is in
 * groups/consumer/. v1 adds the subscription regex (stable since Kafka 4.0; the spec snapshot
 * still marks it unstable, so it is advertised explicitly). Owned partitions come as topic ids;
 * ids of topics that no longer exist are dropped, as the partitions are gone with them.
 * Leaves out: rack-aware assignment (the rack id is recorded and described, not used).
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { ConsumerGroupHeartbeat } from '../../protocol/generated/index.js'
import { assignmentOf, type Assignment } from '../groups/consumer/assignment.js'
import { clientHostOf, coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import { defineHandler, type RequestContext } from './handler.js'

function byName(ctx: RequestContext, owned: readonly { topicId: string; partitions: number[] }[] | null): Assignment | null {
  if (owned === null) return null
  return assignmentOf(owned.flatMap((t) => {
    const topic = ctx.cluster.topicById(t.topicId)
    return topic === undefined ? [] : [[topic.name, t.partitions] as const]
  }))
}

function byId(ctx: RequestContext, assignment: Assignment): { topicId: string; partitions: number[] }[] {
  return [...assignment].flatMap(([name, partitions]) => {
    const topic = ctx.cluster.topic(name)
    return topic === undefined ? [] : [{ topicId: topic.id, partitions: [...partitions] }]
  })
}

export default defineHandler({
  api: ConsumerGroupHeartbeat,
  minVersion: 0,
  maxVersion: 1,
  advertiseUnstable: true,
  handle: (request, ctx) => {
    if (!coordinatesHere(ctx, request.groupId)) return { errorCode: KafkaErrorCode.NOT_COORDINATOR, memberEpoch: 0, heartbeatIntervalMs: 0 }
    const result = groupCoordinatorOf(ctx).consumerHeartbeat({
      groupId: request.groupId,
      memberId: request.memberId,
      memberEpoch: request.memberEpoch,
      instanceId: request.instanceId,
      rackId: request.rackId,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      subscribedTopicNames: request.subscribedTopicNames,
      subscribedTopicRegex: ctx.version >= 1 ? request.subscribedTopicRegex : null,
      serverAssignor: request.serverAssignor,
      owned: byName(ctx, request.topicPartitions),
      clientId: ctx.clientId ?? '',
      clientHost: clientHostOf(ctx),
    })
    return {
      errorCode: result.errorCode,
      errorMessage: result.errorMessage,
      memberId: result.memberId,
      memberEpoch: result.memberEpoch,
      heartbeatIntervalMs: result.heartbeatIntervalMs,
      assignment: result.assignment === null ? null : { topicPartitions: byId(ctx, result.assignment) },
    }
  },
  errorResponse: (_request, errorCode) => ({ errorCode, memberEpoch: 0, heartbeatIntervalMs: 0 }),
})
