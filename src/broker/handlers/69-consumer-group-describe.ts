/**
 * ConsumerGroupDescribe, v0 (KIP-848): each consumer group with its epochs, assignor and members
 * (epoch, subscription, current and target assignment). A group that is not a consumer group gets
 * GROUP_ID_NOT_FOUND, as with Kafka. With no ACLs here, every group operation is allowed.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { ConsumerGroupDescribe, type ConsumerGroupDescribeResponseDescribedGroupInit } from '../../protocol/generated/index.js'
import type { Assignment } from '../groups/consumer/assignment.js'
import { coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import { defineHandler, type RequestContext } from './handler.js'

const NOT_REQUESTED = -2147483648
/** READ(3), DELETE(6), DESCRIBE(8), DESCRIBE_CONFIGS(10), ALTER_CONFIGS(11). */
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11)

function failed(groupId: string, errorCode: number): ConsumerGroupDescribeResponseDescribedGroupInit {
  return { errorCode, groupId, groupState: '', groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [] }
}

function topicPartitions(ctx: RequestContext, a: Assignment) {
  return {
    topicPartitions: [...a].flatMap(([name, partitions]) => {
      const topic = ctx.cluster.topic(name)
      return topic === undefined ? [] : [{ topicId: topic.id, topicName: name, partitions: [...partitions] }]
    }),
  }
}

export default defineHandler({
  api: ConsumerGroupDescribe,
  minVersion: 0,
  maxVersion: 0,
  handle: (request, ctx) => ({
    throttleTimeMs: 0,
    groups: request.groupIds.map((groupId) => {
      if (!coordinatesHere(ctx, groupId)) return failed(groupId, KafkaErrorCode.NOT_COORDINATOR)
      const { state, members, ...group } = groupCoordinatorOf(ctx).describeConsumerGroup(groupId)
      return {
        ...group,
        groupState: state,
        members: members.map((m) => ({
          ...m,
          subscribedTopicNames: [...m.subscribedTopicNames],
          assignment: topicPartitions(ctx, m.assignment),
          targetAssignment: topicPartitions(ctx, m.targetAssignment),
        })),
        authorizedOperations: request.includeAuthorizedOperations ? GROUP_OPERATIONS : NOT_REQUESTED,
      }
    }),
  }),
  errorResponse: (request, errorCode) => ({ throttleTimeMs: 0, groups: request.groupIds.map((groupId) => failed(groupId, errorCode)) }),
})
