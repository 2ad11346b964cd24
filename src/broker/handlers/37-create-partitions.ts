/**
 * CreatePartitions, v0-3: grows a topic, with or without replica assignments for the new
 * partitions; validateOnly. Kafka refuses to shrink, and so does this (INVALID_PARTITIONS).
 * Leaves out: the timeout (creation is synchronous).
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { CreatePartitions, type CreatePartitionsRequestCreatePartitionsTopic } from '../../protocol/generated/index.js'
import { MAX_PARTITIONS } from '../cluster.js'
import { defineHandler, type RequestContext } from './handler.js'

function grow(t: CreatePartitionsRequestCreatePartitionsTopic, validateOnly: boolean, ctx: RequestContext) {
  const topic = ctx.cluster.topic(t.name)
  if (topic === undefined) return { name: t.name, errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `no topic ${t.name}` }
  const current = topic.partitions.length
  if (t.count > MAX_PARTITIONS) {
    return { name: t.name, errorCode: KafkaErrorCode.INVALID_PARTITIONS, errorMessage: `a topic may have at most ${MAX_PARTITIONS} partitions here, got ${t.count}` }
  }
  if (t.count <= current) {
    return { name: t.name, errorCode: KafkaErrorCode.INVALID_PARTITIONS, errorMessage: `topic ${t.name} has ${current} partitions; the new count must be larger, got ${t.count}` }
  }
  const assignments = (t.assignments ?? []).map((a) => a.brokerIds)
  if (assignments.length > 0) {
    if (assignments.length !== t.count - current) {
      return { name: t.name, errorCode: KafkaErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: `${t.count - current} new partitions need as many assignments, got ${assignments.length}` }
    }
    const refusal = ctx.cluster.checkAssignments(assignments, topic.replicationFactor)
    if (refusal !== null) return { name: t.name, errorCode: refusal.errorCode, errorMessage: refusal.message }
  }
  if (!validateOnly) ctx.cluster.addPartitions(topic, t.count, assignments)
  return { name: t.name, errorCode: 0, errorMessage: null }
}

export default defineHandler({
  api: CreatePartitions,
  minVersion: 0,
  maxVersion: 3,
  handle: (request, ctx) => ({ throttleTimeMs: 0, results: request.topics.map((t) => grow(t, request.validateOnly, ctx)) }),
  errorResponse: (request, errorCode) => ({ throttleTimeMs: 0, results: request.topics.map((t) => ({ name: t.name, errorCode, errorMessage: null })) }),
})
