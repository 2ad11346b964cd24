/**
 * Metadata, v0-12. Every node is listed; partitions report their leader, leader epoch, replicas and
 * ISR (all replicas: they share one log). Topics may be named or, from v10, given by id.
 * Auto-creation follows Kafka: on when the broker allows it and the request does too (v4+; older
 * versions always allow), with the broker's default partition count.
 * Leaves out: authorized operations, racks, offline replicas (always empty).
 */
import { ZERO_UUID_STRING } from '../../protocol/codec-runtime.js'
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { Metadata, type MetadataRequest, type MetadataResponseMetadataResponseTopicInit } from '../../protocol/generated/index.js'
import { topicNameProblem, type Topic } from '../cluster.js'
import { defineHandler, type RequestContext } from './handler.js'

function describeTopic(topic: Topic): MetadataResponseMetadataResponseTopicInit {
  return {
    errorCode: 0,
    name: topic.name,
    topicId: topic.id,
    isInternal: false,
    partitions: topic.partitions.map((p) => ({
      errorCode: 0,
      partitionIndex: p.index,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: p.replicas,
      isrNodes: p.replicas,
      offlineReplicas: [],
    })),
  }
}

function lookUp(request: MetadataRequest, ctx: RequestContext): MetadataResponseMetadataResponseTopicInit[] {
  const { cluster } = ctx
  // v0 asks for every topic with an empty list; v1+ with null.
  if (request.topics === null || (ctx.version === 0 && request.topics.length === 0)) return [...cluster.topics].map(describeTopic)
  const allowCreate = ctx.options.autoCreateTopics && (ctx.version < 4 || request.allowAutoTopicCreation)
  return request.topics.map(({ name, topicId }) => {
    if (name === null) {
      const topic = cluster.topicById(topicId)
      if (topic !== undefined) return describeTopic(topic)
      return { errorCode: KafkaErrorCode.UNKNOWN_TOPIC_ID, name: null, topicId, partitions: [] }
    }
    const existing = cluster.topic(name)
    if (existing !== undefined) return describeTopic(existing)
    if (topicNameProblem(name) !== null) return { errorCode: KafkaErrorCode.INVALID_TOPIC_EXCEPTION, name, topicId: ZERO_UUID_STRING, partitions: [] }
    if (!allowCreate) return { errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name, topicId: ZERO_UUID_STRING, partitions: [] }
    return describeTopic(cluster.createTopic(name, -1, -1, {}))
  })
}

function body(ctx: RequestContext, topics: MetadataResponseMetadataResponseTopicInit[]) {
  return {
    brokers: ctx.cluster.nodes.map((n) => ({ nodeId: n.nodeId, host: n.host, port: n.port, rack: null })),
    clusterId: ctx.cluster.clusterId,
    controllerId: ctx.cluster.controllerId,
    topics,
  }
}

export default defineHandler({
  api: Metadata,
  minVersion: 0,
  maxVersion: 12,
  handle: (request, ctx) => body(ctx, lookUp(request, ctx)),
  errorResponse: (request, errorCode, ctx) =>
    body(
      ctx,
      (request.topics ?? []).map((t) => ({ errorCode, name: t.name, topicId: t.topicId, partitions: [] })),
    ),
})
