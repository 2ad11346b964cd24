/**
 * Preparing the lab's input on whatever cluster it runs against: a fresh topic (CreateTopics, so
 * the same code serves the embedded broker and a real cluster) and every record of the workload,
 * written by baton's producer.
 */
import { Producer } from '../../client/producer/producer.js'
import { kafkaError, KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { CreateTopics } from '../../protocol/generated/index.js'
import { WorkloadPlan } from '../workload.js'

export async function createLabTopic(producer: Producer, topic: string, partitions: number): Promise<void> {
  const response = await producer.cluster.requestAnyBroker(CreateTopics, (version) => ({
    // -1 asks for the cluster's default replication factor (KIP-464, CreateTopics v4).
    topics: [{ name: topic, numPartitions: partitions, replicationFactor: version >= 4 ? -1 : 1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
  }))
  const result = response.topics.find((t) => t.name === topic)
  if (result !== undefined && result.errorCode !== KafkaErrorCode.NONE && result.errorCode !== KafkaErrorCode.TOPIC_ALREADY_EXISTS) {
    throw kafkaError(result.errorCode, { api: 'CreateTopics', topic, errorMessage: result.errorMessage })
  }
  await producer.cluster.waitForTopics([topic], 30_000)
}

/** Produces record ids 0..n-1, each to its partition, and resolves once all are acknowledged. */
export async function produceInput(producer: Producer, topic: string, plan: WorkloadPlan, onProgress?: (acknowledged: number) => void): Promise<void> {
  const chunk = 1000
  for (let from = 0; from < plan.workload.records; from += chunk) {
    const ids = Array.from({ length: Math.min(chunk, plan.workload.records - from) }, (_, i) => from + i)
    await producer.sendBatch(ids.map((id) => ({ topic, partition: plan.partitionOf(id), key: `k${id}`, value: WorkloadPlan.encode(id) })))
    onProgress?.(from + ids.length)
  }
  await producer.flush()
}
