/**
 * DeleteTopics, v0-6: by name, or by topic id from v6. Deletion is immediate: the partitions' logs
 * are removed and waiting fetches for them find the topic gone.
 * Leaves out: the timeout (nothing to wait for).
 */
import { ZERO_UUID_STRING } from '../../protocol/codec-runtime.js'
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { DeleteTopics, type DeleteTopicsRequest } from '../../protocol/generated/index.js'
import { defineHandler, type RequestContext } from './handler.js'

/** v0-5 carry names in topicNames, v6 carries (name or id) pairs in topics. */
function targets(request: DeleteTopicsRequest, ctx: RequestContext): { name: string | null; topicId: string }[] {
  if (ctx.version < 6) return request.topicNames.map((name) => ({ name, topicId: ZERO_UUID_STRING }))
  return request.topics
}

export default defineHandler({
  api: DeleteTopics,
  minVersion: 0,
  maxVersion: 6,
  handle: (request, ctx) => ({
    responses: targets(request, ctx).map(({ name, topicId }) => {
      const topic = name !== null ? ctx.cluster.topic(name) : ctx.cluster.topicById(topicId)
      if (topic === undefined) {
        const errorCode = name !== null ? KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION : KafkaErrorCode.UNKNOWN_TOPIC_ID
        return { name, topicId, errorCode, errorMessage: `no topic ${name ?? topicId}` }
      }
      ctx.cluster.deleteTopic(topic)
      return { name: topic.name, topicId: ctx.version >= 6 ? topic.id : ZERO_UUID_STRING, errorCode: 0, errorMessage: null }
    }),
  }),
  errorResponse: (request, errorCode, ctx) => ({
    responses: targets(request, ctx).map(({ name, topicId }) => ({ name, topicId, errorCode, errorMessage: null })),
  }),
})
