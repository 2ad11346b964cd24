/**
 * OffsetDelete, v0 (KIP-496): deletes committed offsets of a group. A live consumer group keeps
 * the offsets of topics its members subscribe to (GROUP_SUBSCRIBED_TO_TOPIC); a live group of
 * another protocol type keeps all of them (NON_EMPTY_GROUP).
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { OffsetDelete } from '../../protocol/generated/index.js'
import { partitionKey } from '../../protocol/topic-partition.js'
import { coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import { defineHandler } from './handler.js'

export default defineHandler({
  api: OffsetDelete,
  minVersion: 0,
  maxVersion: 0,
  handle: (request, ctx) => {
    if (!coordinatesHere(ctx, request.groupId)) return { throttleTimeMs: 0, errorCode: KafkaErrorCode.NOT_COORDINATOR, topics: [] }
    const unknown = (topic: string, partition: number): boolean => ctx.cluster.partition(topic, partition) === undefined
    const known = request.topics.map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.partitionIndex).filter((p) => !unknown(t.name, p)) }))
    const result = groupCoordinatorOf(ctx).deleteOffsets(request.groupId, known)
    if (result.errorCode !== KafkaErrorCode.NONE) return { throttleTimeMs: 0, errorCode: result.errorCode, topics: [] }
    const errors = new Map(result.topics.flatMap((t) => t.partitions.map((p) => [partitionKey(t.topic, p.partition), p.errorCode] as const)))
    return {
      throttleTimeMs: 0,
      errorCode: KafkaErrorCode.NONE,
      topics: request.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => ({
          partitionIndex: p.partitionIndex,
          errorCode: errors.get(partitionKey(t.name, p.partitionIndex)) ?? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        })),
      })),
    }
  },
  errorResponse: (_request, errorCode) => ({ throttleTimeMs: 0, errorCode, topics: [] }),
})
