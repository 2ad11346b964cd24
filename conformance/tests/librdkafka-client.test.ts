/**
 * Invariant: librdkafka (through @confluentinc/kafka-javascript) produces to baton's embedded
 * broker with every codec, idempotence on, and reads everything back without a group (assigned
 * partitions): each record once, in order per partition, with key, value, headers and the
 * timestamp the producer set.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import Kafka from '@confluentinc/kafka-javascript'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'

const RECORDS = 10_000
const PARTITIONS = 6
const BASE_TIMESTAMP = 1_700_000_000_000
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const

function produceAll(bootstrap: string, topic: string, codec: (typeof CODECS)[number]): Promise<void> {
  const producer = new Kafka.HighLevelProducer({
    'bootstrap.servers': bootstrap,
    'compression.codec': codec,
    'enable.idempotence': true,
    'linger.ms': 5,
  })
  return new Promise((resolve, reject) => {
    producer.on('event.error', reject)
    producer.connect({}, (err) => {
      if (err) return reject(new Error(`producer connect failed: ${err.message}`, { cause: err }))
      let acknowledged = 0
      for (let i = 0; i < RECORDS; i++) {
        const headers: Kafka.MessageHeader[] = [{ seq: String(i) }, { source: 'librdkafka' }]
        producer.produce(topic, null, Buffer.from(`value-${i}`), `key-${i % 500}`, BASE_TIMESTAMP + i, headers, (error: unknown) => {
          if (error) return reject(error instanceof Error ? error : new Error(`delivery failed: ${JSON.stringify(error)}`))
          if (++acknowledged === RECORDS) producer.disconnect(() => resolve())
        })
      }
    })
  })
}

function consumeAll(bootstrap: string, topic: string): Promise<Kafka.Message[]> {
  const consumer = new Kafka.KafkaConsumer(
    { 'bootstrap.servers': bootstrap, 'group.id': `conformance-${topic}`, 'enable.auto.commit': false, 'enable.partition.eof': true },
    { 'auto.offset.reset': 'earliest' },
  )
  return new Promise((resolve, reject) => {
    const messages: Kafka.Message[] = []
    const finished = new Set<number>()
    const deadline = setTimeout(() => reject(new Error(`read only ${messages.length} of ${RECORDS} records within 60 s`)), 60_000)
    consumer.on('event.error', reject)
    consumer.on('partition.eof', ({ partition }) => {
      finished.add(partition)
      if (finished.size === PARTITIONS && messages.length >= RECORDS) {
        clearTimeout(deadline)
        consumer.disconnect(() => resolve(messages))
      }
    })
    consumer.on('data', (message) => messages.push(message))
    consumer.connect({}, (err) => {
      if (err) return reject(new Error(`consumer connect failed: ${err.message}`, { cause: err }))
      consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, offset: 0 })))
      consumer.consume()
    })
  })
}

for (const nodes of [1, 3]) {
  describe(`@confluentinc/kafka-javascript against the embedded broker, ${nodes} node(s)`, () => {
    let broker: EmbeddedBroker
    before(async () => {
      broker = await startBroker({ nodes, memory: true })
    })
    after(async () => {
      await broker.stop()
    })

    for (const codec of CODECS) {
      it(`produces and reads back ${RECORDS} records with ${codec}`, async () => {
        const topic = `rdkafka-${codec}-${nodes}`
        broker.createTopic(topic, { partitions: PARTITIONS })
        const bootstrap = broker.bootstrap.join(',')
        await produceAll(bootstrap, topic, codec)
        const messages = await consumeAll(bootstrap, topic)
        assert.equal(messages.length, RECORDS)
        const seen = new Set<number>()
        const lastSeqOfPartition = new Map<number, number>()
        for (const m of messages) {
          const seq = Number(m.value?.toString().slice('value-'.length))
          assert.ok(!seen.has(seq), `record ${seq} read twice`)
          seen.add(seq)
          assert.equal(m.key?.toString(), `key-${seq % 500}`)
          assert.equal(m.timestamp, BASE_TIMESTAMP + seq)
          const headers = (m.headers ?? []).map((h) => Object.entries(h).map(([k, v]) => `${k}=${v.toString()}`)).flat()
          assert.deepEqual(headers, [`seq=${seq}`, 'source=librdkafka'])
          assert.ok(seq > (lastSeqOfPartition.get(m.partition) ?? -1), `partition ${m.partition} out of order at ${seq}`)
          lastSeqOfPartition.set(m.partition, seq)
        }
        assert.equal(seen.size, RECORDS)
      })
    }
  })
}
