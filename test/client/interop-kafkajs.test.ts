/**
 * Interoperability with KafkaJS, a client baton did not write, through the embedded broker: what
 * KafkaJS produces, baton reads intact; what baton produces (every codec KafkaJS can read without
 * plugins), KafkaJS reads intact.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { CompressionTypes, Kafka, logLevel, type EachMessagePayload } from 'kafkajs'
import { Consumer } from '../../src/client/consumer/consumer.js'
import { Producer } from '../../src/client/producer/producer.js'
import { partitionForKey } from '../../src/client/producer/murmur2.js'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { take } from './helpers/take.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function broker(): Promise<EmbeddedBroker> {
  const b = await startBroker({ nodes: 1, port: 0, memory: true })
  cleanups.push(() => b.stop())
  return b
}

function kafkajs(b: EmbeddedBroker): Kafka {
  return new Kafka({ clientId: 'interop', brokers: b.bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 3 } })
}


describe('interoperability with KafkaJS', () => {
  for (const [name, compression] of [
    ['none', CompressionTypes.None],
    ['gzip', CompressionTypes.GZIP],
  ] as const) {
    it(`baton reads what KafkaJS produced (${name})`, async () => {
      const b = await broker()
      b.createTopic('from-kafkajs', { partitions: 3 })
      const producer = kafkajs(b).producer()
      await producer.connect()
      cleanups.push(() => producer.disconnect())
      const messages = Array.from({ length: 200 }, (_, i) => ({ key: `key-${i}`, value: `value-${i}`, headers: { index: String(i) } }))
      await producer.send({ topic: 'from-kafkajs', compression, messages })
      const consumer = new Consumer({ bootstrapServers: b.bootstrap, autoOffsetReset: 'earliest' })
      cleanups.push(() => consumer.close())
      await consumer.assign([0, 1, 2].map((partition) => ({ topic: 'from-kafkajs', partition })))
      const records = await take(consumer, 200)
      const byKey = new Map(records.map((r) => [r.key?.toString(), r]))
      for (let i = 0; i < 200; i++) {
        const record = byKey.get(`key-${i}`)
        assert.ok(record, `key-${i} missing`)
        assert.equal(record.value?.toString(), `value-${i}`)
        assert.equal(record.headers[0]?.key, 'index')
        assert.equal(record.headers[0]?.value?.toString(), String(i))
        // KafkaJS's default partitioner is Java's murmur2: both clients agree on the partition.
        assert.equal(record.partition, partitionForKey(Buffer.from(`key-${i}`), 3))
      }
    })
  }

  for (const compression of ['none', 'gzip'] as const) {
    it(`KafkaJS reads what baton produced (${compression})`, async () => {
      const b = await broker()
      b.createTopic('from-baton', { partitions: 2 })
      const producer = new Producer({ bootstrapServers: b.bootstrap, compression, lingerMs: 2 })
      cleanups.push(() => producer.close())
      const sent = await Promise.all(
        Array.from({ length: 100 }, (_, i) => producer.send({ topic: 'from-baton', key: `k${i}`, value: `v${i}`, headers: { i: String(i) } })),
      )
      const client = kafkajs(b)
      const admin = client.admin()
      await admin.connect()
      cleanups.push(() => admin.disconnect())
      const offsets = await admin.fetchTopicOffsets('from-baton')
      const total = offsets.reduce((sum, o) => sum + Number(o.high), 0)
      assert.equal(total, 100)
      for (const meta of sent) assert.ok(BigInt(offsets.find((o) => o.partition === meta.partition)!.high) > meta.offset)

      const consumer = client.consumer({ groupId: `interop-${compression}`, maxWaitTimeInMs: 100 })
      await consumer.connect()
      cleanups.push(() => consumer.disconnect())
      await consumer.subscribe({ topic: 'from-baton', fromBeginning: true })
      const seen = new Map<string, { value: string; header: string; partition: number; offset: string }>()
      let resolveAll!: () => void
      const all = new Promise<void>((resolve) => (resolveAll = resolve))
      await consumer.run({
        eachMessage: async ({ message, partition }: EachMessagePayload) => {
          seen.set(message.key!.toString(), { value: message.value!.toString(), header: String(message.headers?.i), partition, offset: message.offset })
          if (seen.size === 100) resolveAll()
          await Promise.resolve()
        },
      })
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        all,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`KafkaJS saw ${seen.size} of 100 records`)), 20_000)
        }),
      ]).finally(() => clearTimeout(timer))
      for (let i = 0; i < 100; i++) {
        const record = seen.get(`k${i}`)
        assert.ok(record)
        assert.equal(record.value, `v${i}`)
        assert.equal(record.header, String(i))
        assert.equal(record.partition, sent[i]!.partition)
        assert.equal(BigInt(record.offset), sent[i]!.offset)
      }
    })
  }
})
