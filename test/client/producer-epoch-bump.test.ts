/**
 * What the producer asks for when it bumps its epoch (KIP-360): the InitProducerId request itself.
 *
 * This stays on the scripted fake (helpers/mock-cluster.ts) because the assertion is about the
 * request's body, the producer id and epoch the client sends, which the embedded broker neither
 * exposes to a test nor echoes: like Kafka, it answers a non-transactional InitProducerId with a
 * fresh producer id whatever was asked. Everything else about the producer runs against the
 * embedded broker, in producer.test.ts.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { Producer } from '../../src/client/producer/producer.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { InitProducerId, Produce, type ProduceRequest } from '../../src/protocol/generated/index.js'
import { decodeRecordBatches, type DataRecordBatch } from '../../src/protocol/records/index.js'
import { MockCluster } from './helpers/mock-cluster.js'

const clusters: MockCluster[] = []
const producers: Producer[] = []

afterEach(async () => {
  await Promise.all(producers.splice(0).map((p) => p.close(1000)))
  await Promise.all(clusters.splice(0).map((c) => c.close()))
})

function logValues(cluster: MockCluster, topic: string, partition: number): string[] {
  const bytes = Buffer.concat(cluster.partition(topic, partition).log.map((b) => b.bytes))
  return decodeRecordBatches(bytes).batches.flatMap((b) => (b as DataRecordBatch).records.map((r) => r.value?.toString() ?? ''))
}

describe('Producer epoch bump', () => {
  it('OUT_OF_ORDER_SEQUENCE on the oldest batch bumps the epoch (KIP-360) and resends it, written once and in order', async () => {
    const cluster = await MockCluster.start(1)
    clusters.push(cluster)
    cluster.createTopic('t', 3)
    const producer = new Producer({ bootstrapServers: cluster.bootstrap, retryBackoffMs: 5, retryBackoffMaxMs: 20, lingerMs: 0 })
    producers.push(producer)
    await producer.send({ topic: 't', partition: 0, value: 'first' })
    let fail = true
    cluster.fault(Produce, (request) => {
      if (!fail) return undefined
      fail = false
      const body = request.body as ProduceRequest
      return {
        responses: body.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, baseOffset: -1n })),
        })),
      }
    })
    // The broker refused the batch (it lost this producer's sequence state): not written, so resent.
    const resent = await producer.send({ topic: 't', partition: 0, value: 'resent' })
    assert.equal(resent.offset, 1n)
    await producer.send({ topic: 't', partition: 0, value: 'second' })
    const inits = cluster.requests(InitProducerId)
    assert.equal(inits.length, 2)
    // The bump keeps the producer id and asks for the next epoch.
    const bump = inits[1]!.body as { producerId: bigint; producerEpoch: number }
    assert.equal(bump.producerEpoch, 0)
    assert.ok(bump.producerId >= 0n)
    assert.deepEqual(logValues(cluster, 't', 0), ['first', 'resent', 'second'])
  })
})
