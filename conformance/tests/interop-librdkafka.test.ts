/**
 * Invariant: records cross between baton's client and librdkafka intact, both ways, through the
 * embedded broker: what baton produces librdkafka reads (key, value, headers, timestamp), and
 * what librdkafka produces baton reads.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import Kafka from '@confluentinc/kafka-javascript'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Consumer, Producer } from '../../src/client/index.js'

const RECORDS = 2_000
const PARTITIONS = 3
const BASE_TIMESTAMP = 1_700_000_000_000

function readWithLibrdkafka(bootstrap: string, topic: string): Promise<Kafka.Message[]> {
  const consumer = new Kafka.KafkaConsumer(
    { 'bootstrap.servers': bootstrap, 'group.id': `interop-${topic}`, 'enable.auto.commit': false, 'enable.partition.eof': true },
    { 'auto.offset.reset': 'earliest' },
  )
  return new Promise((resolve, reject) => {
    const messages: Kafka.Message[] = []
    const finished = new Set<number>()
    const deadline = setTimeout(() => reject(new Error(`librdkafka read only ${messages.length} of ${RECORDS} records within 60 s`)), 60_000)
    consumer.on('data', (message) => messages.push(message))
    consumer.on('partition.eof', ({ partition }) => {
      finished.add(partition)
      if (finished.size === PARTITIONS && messages.length >= RECORDS) {
        clearTimeout(deadline)
        consumer.disconnect(() => resolve(messages))
      }
    })
    consumer.connect({}, (err) => {
      if (err) return reject(new Error(`consumer connect failed: ${err.message}`, { cause: err }))
      consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, offset: 0 })))
      consumer.consume()
    })
  })
}

function produceWithLibrdkafka(bootstrap: string, topic: string): Promise<void> {
  const producer = new Kafka.HighLevelProducer({ 'bootstrap.servers': bootstrap, 'compression.codec': 'lz4', 'linger.ms': 5 })
  return new Promise((resolve, reject) => {
    producer.connect({}, (err) => {
      if (err) return reject(new Error(`producer connect failed: ${err.message}`, { cause: err }))
      let acknowledged = 0
      for (let i = 0; i < RECORDS; i++) {
        const headers: Kafka.MessageHeader[] = [{ seq: String(i) }]
        producer.produce(topic, i % PARTITIONS, Buffer.from(`value-${i}`), `key-${i}`, BASE_TIMESTAMP + i, headers, (error: unknown) => {
          if (error) return reject(new Error(`delivery failed: ${JSON.stringify(error)}`))
          if (++acknowledged === RECORDS) producer.disconnect(() => resolve())
        })
      }
    })
  })
}

describe('interoperability between baton and librdkafka', () => {
  let broker: EmbeddedBroker
  before(async () => {
    broker = await startBroker({ nodes: 3, memory: true })
  })
  after(async () => {
    await broker.stop()
  })

  it('librdkafka reads what baton produced', async () => {
    const topic = 'from-baton'
    broker.createTopic(topic, { partitions: PARTITIONS })
    const bootstrap = broker.bootstrap.join(',')
    const producer = new Producer({ bootstrapServers: bootstrap, compression: 'zstd' })
    await Promise.all(
      Array.from({ length: RECORDS }, (_, i) =>
        producer.send({ topic, partition: i % PARTITIONS, key: `key-${i}`, value: `value-${i}`, timestamp: BASE_TIMESTAMP + i, headers: [{ key: 'seq', value: String(i) }] }),
      ),
    )
    await producer.close()
    const messages = await readWithLibrdkafka(bootstrap, topic)
    assert.equal(messages.length, RECORDS)
    for (const m of messages) {
      const seq = Number(m.value?.toString().slice('value-'.length))
      assert.equal(m.key?.toString(), `key-${seq}`)
      assert.equal(m.partition, seq % PARTITIONS)
      assert.equal(m.timestamp, BASE_TIMESTAMP + seq)
      assert.deepEqual((m.headers ?? []).map((h) => Object.entries(h).map(([k, v]) => `${k}=${v.toString()}`)).flat(), [`seq=${seq}`])
    }
    assert.equal(new Set(messages.map((m) => m.value?.toString())).size, RECORDS)
  })

  it('baton reads what librdkafka produced', async () => {
    const topic = 'from-librdkafka'
    broker.createTopic(topic, { partitions: PARTITIONS })
    const bootstrap = broker.bootstrap.join(',')
    await produceWithLibrdkafka(bootstrap, topic)
    const consumer = new Consumer({ bootstrapServers: bootstrap, autoOffsetReset: 'earliest' })
    await consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })))
    const seen = new Set<number>()
    for await (const record of consumer) {
      const seq = Number(record.value?.toString().slice('value-'.length))
      assert.equal(record.key?.toString(), `key-${seq}`)
      assert.equal(record.partition, seq % PARTITIONS)
      assert.equal(record.timestamp, BASE_TIMESTAMP + seq)
      assert.deepEqual(record.headers.map((h) => `${h.key}=${h.value?.toString()}`), [`seq=${seq}`])
      seen.add(seq)
      if (seen.size === RECORDS) break
    }
    await consumer.close()
    assert.equal(seen.size, RECORDS)
  })
})
