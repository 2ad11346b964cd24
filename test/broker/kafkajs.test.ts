/**
 * Conformance with a client nobody here wrote: KafkaJS, unmodified, against the embedded broker.
 * Its admin creates a 6-partition topic, its producer sends 10 000 keyed records (gzip and
 * uncompressed, idempotent on and off), and its admin reads the offsets back; with 1 and 3 nodes, so
 * that with 3 it must route every partition to its leader. (Its consumer needs groups: later issue.)
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Fetch } from '../../src/protocol/generated/index.js'
import { decodeRecordBatches } from '../../src/protocol/records/index.js'
import { TestConnection } from './helpers/connection.js'

const RECORDS = 10_000
const PARTITIONS = 6
const PER_SEND = 500

/** Reads a whole partition from its leader with the protocol layer; returns the record keys. */
async function readPartition(broker: EmbeddedBroker, topic: string, partition: number): Promise<string[]> {
  const leader = broker.topic(topic)!.leaders[partition]!
  const conn = await TestConnection.open(broker.bootstrap[leader]!)
  try {
    const keys: string[] = []
    let offset = 0n
    for (;;) {
      const response = await conn.request(Fetch, 11, {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 8 << 20,
        topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 8 << 20 }] }],
      })
      const data = response.responses[0]!.partitions[0]!
      assert.equal(data.errorCode, 0)
      const { batches } = decodeRecordBatches(data.records ?? Buffer.alloc(0))
      if (batches.length === 0) return keys
      for (const batch of batches) {
        if (batch.isControl) continue
        for (const record of batch.records) keys.push(record.key?.toString() ?? '')
        offset = batch.lastOffset + 1n
      }
    }
  } finally {
    await conn.close()
  }
}

for (const nodes of [1, 3]) {
  describe(`KafkaJS against ${nodes} node(s)`, () => {
    let broker: EmbeddedBroker
    let kafka: Kafka

    before(async () => {
      broker = await startBroker({ nodes, autoCreateTopics: false })
      kafka = new Kafka({ clientId: 'conformance', brokers: broker.bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 3 } })
    })
    after(() => broker.stop())

    for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
      for (const idempotent of [false, true]) {
        const label = `${compression === CompressionTypes.GZIP ? 'gzip' : 'uncompressed'}, idempotent ${idempotent ? 'on' : 'off'}`
        it(`produces ${RECORDS} keyed records (${label}) and reads the offsets back`, async () => {
          const topic = `t-${nodes}-${compression}-${idempotent}`
          const admin = kafka.admin()
          const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent, maxInFlightRequests: idempotent ? 1 : 5 })
          await admin.connect()
          try {
            assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: Math.min(nodes, 3) }], waitForLeaders: true }), true)
            await producer.connect()
            for (let sent = 0; sent < RECORDS; sent += PER_SEND) {
              const messages = Array.from({ length: PER_SEND }, (_, i) => ({ key: `key-${sent + i}`, value: `value-${sent + i}`, headers: { n: String(sent + i) } }))
              await producer.send({ topic, messages, acks: -1, compression })
            }
            const offsets = await admin.fetchTopicOffsets(topic)
            assert.equal(offsets.length, PARTITIONS)
            const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0)
            assert.equal(total, RECORDS)
            assert.ok(offsets.filter((p) => Number(p.high) > 0).length > 1, 'keys spread over several partitions')
            if (nodes > 1) assert.ok(new Set(broker.topic(topic)!.leaders).size > 1, 'leadership spread over nodes')

            const keys = (await Promise.all(offsets.map((p) => readPartition(broker, topic, p.partition)))).flat()
            assert.equal(keys.length, RECORDS)
            assert.equal(new Set(keys).size, RECORDS, 'every record exactly once')
          } finally {
            await producer.disconnect()
            await admin.disconnect()
          }
        })
      }
    }
  })
}
