/**
 * Preparing the lab's input on whatever cluster it runs against: a fresh topic (through the admin
 * client, so the same code serves the embedded broker and a real cluster) and every record of the
 * workload, written by baton's producer.
 */
import { Admin, isKafkaError, KafkaErrorCode, type Producer } from '../../client/index.js'
import { WorkloadPlan } from '../workload.js'

/** Creates the topic (an existing one is kept) and waits until the producer's metadata has it. */
export async function createLabTopic(bootstrap: readonly string[], producer: Producer, topic: string, partitions: number): Promise<void> {
  const admin = new Admin({ bootstrapServers: bootstrap, clientId: 'baton-lab-admin' })
  try {
    await admin.createTopics([{ name: topic, partitions }], { timeoutMs: 30_000 })
  } catch (error) {
    if (!isKafkaError(error) || error.errorCode !== KafkaErrorCode.TOPIC_ALREADY_EXISTS) throw error
  } finally {
    await admin.close()
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
