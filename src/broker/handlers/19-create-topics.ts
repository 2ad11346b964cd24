/**
 * CreateTopics, v0-7. Partitions, replication factor (checked against the node count and reported),
 * manual replica assignments, configs validated against Kafka's topic config names, validateOnly.
 * Any node accepts it (Kafka forwards to the controller since KIP-590). Creation is synchronous, so
 * the topic is in Metadata by the time the response is sent.
 * Leaves out: creation policies, the timeout (nothing to wait for).
 */
import { ZERO_UUID_STRING } from '../../protocol/codec-runtime.js'
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { CreateTopics, type CreateTopicsRequestCreatableTopic, type CreateTopicsResponseCreatableTopicResultInit } from '../../protocol/generated/index.js'
import type { Refusal } from '../cluster.js'
import { ConfigProblem, describeTopicConfigs, validateTopicConfigs } from '../topic-config.js'
import { defineHandler, type RequestContext } from './handler.js'

function refused(name: string, refusal: Refusal): CreateTopicsResponseCreatableTopicResultInit {
  return { name, topicId: ZERO_UUID_STRING, errorCode: refusal.errorCode, errorMessage: refusal.message, numPartitions: -1, replicationFactor: -1, configs: [] }
}

function createOne(t: CreateTopicsRequestCreatableTopic, validateOnly: boolean, ctx: RequestContext): CreateTopicsResponseCreatableTopicResultInit {
  const { cluster, options } = ctx
  const assignments = t.assignments.map((a) => a.brokerIds)
  if (assignments.length > 0 && (t.numPartitions !== -1 || t.replicationFactor !== -1)) {
    return refused(t.name, { errorCode: KafkaErrorCode.INVALID_REQUEST, message: 'give either replica assignments or partition count and replication factor, not both' })
  }
  const partitions = assignments.length > 0 ? assignments.length : t.numPartitions === -1 ? options.defaultPartitions : t.numPartitions
  const factor =
    assignments.length > 0 ? (assignments[0]?.length ?? 0) : t.replicationFactor === -1 ? Math.min(options.defaultReplicationFactor, cluster.nodes.length) : t.replicationFactor
  const refusal = cluster.checkNewTopic(t.name, partitions, factor) ?? (assignments.length > 0 ? cluster.checkAssignments(assignments, factor) : null)
  if (refusal !== null) return refused(t.name, refusal)
  const configs = validateTopicConfigs(t.configs)
  if (configs instanceof ConfigProblem) return refused(t.name, { errorCode: KafkaErrorCode.INVALID_CONFIG, message: configs.message })
  const topicId = validateOnly ? ZERO_UUID_STRING : cluster.createTopic(t.name, partitions, factor, configs, assignments).id
  return {
    name: t.name,
    topicId,
    errorCode: 0,
    errorMessage: null,
    numPartitions: partitions,
    replicationFactor: factor,
    configs:
      ctx.version >= 5
        ? describeTopicConfigs(configs).map((c) => ({ name: c.name, value: c.value, readOnly: false, configSource: c.source, isSensitive: false }))
        : [],
  }
}

export default defineHandler({
  api: CreateTopics,
  minVersion: 0,
  maxVersion: 7,
  handle: (request, ctx) => {
    return {
      topics: request.topics.map((t) => {
        // Kafka refuses every copy of a name that appears twice in one request.
        if (request.topics.filter((o) => o.name === t.name).length > 1) {
          return refused(t.name, { errorCode: KafkaErrorCode.INVALID_REQUEST, message: `topic ${t.name} appears more than once in the request` })
        }
        return createOne(t, request.validateOnly, ctx)
      }),
    }
  },
  errorResponse: (request, errorCode) => ({
    topics: request.topics.map((t) => refused(t.name, { errorCode, message: 'injected fault' })),
  }),
})
