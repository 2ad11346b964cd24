/**
 * Invariant: `baton groups describe` gives the figures kafka-consumer-groups.sh --describe gives,
 * for a group of the framework's apps and for a KafkaJS group, while records are produced and
 * consumed: per partition the committed offset, the log end offset (ListOffsets latest) and
 * lag = end - committed; the members with their client id, host and assignment. The expected
 * figures come from KafkaJS's admin client (a second, independent reading of the same broker).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { Kafka, logLevel, type Admin as KafkaJsAdmin, type Consumer as KafkaJsConsumer } from 'kafkajs'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Producer } from '../../src/client/producer/producer.js'
import type { ConsumerGroupView } from '../../src/client/admin/consumer-group-lag.js'
import { baton, type BatonApp } from '../../src/processing/app.js'
import { silentLogger } from '../../src/processing/logger.js'

const run = promisify(execFile)
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'baton.js')
const PARTITIONS = 3

/** The group as `baton groups describe --json` prints it (offsets are numbers in JSON). */
type Described = Omit<ConsumerGroupView, 'totalLag' | 'partitions'> & {
  totalLag: number
  partitions: Array<{ topic: string; partition: number; committedOffset: number | null; endOffset: number; lag: number | null; memberId: string | null; clientId: string | null; clientHost: string | null }>
}

async function describeCli(broker: EmbeddedBroker, groupId: string): Promise<Described> {
  const { stdout } = await run(process.execPath, [BIN, 'groups', 'describe', groupId, '--brokers', broker.bootstrap.join(','), '--json'])
  return JSON.parse(stdout) as Described
}

/** What kafka-consumer-groups.sh computes, from KafkaJS's admin: committed, LEO, lag per partition. */
async function expected(admin: KafkaJsAdmin, groupId: string, topic: string): Promise<Array<{ partition: number; committed: number | null; end: number; lag: number | null }>> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
  const ends = await admin.fetchTopicOffsets(topic)
  return ends
    .map((e) => {
      const c = Number(offsets!.partitions.find((p) => p.partition === e.partition)?.offset ?? -1)
      const committed = c < 0 ? null : c
      const end = Number(e.high)
      return { partition: e.partition, committed, end, lag: committed === null ? null : Math.max(0, end - committed) }
    })
    .sort((a, b) => a.partition - b.partition)
}

function figures(d: Described): Array<{ partition: number; committed: number | null; end: number; lag: number | null }> {
  return d.partitions.map((p) => ({ partition: p.partition, committed: p.committedOffset, end: p.endOffset, lag: p.lag }))
}

async function until<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (ok(value)) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function produceEach(producer: Producer, topic: string, perPartition: number): Promise<void> {
  const sends = []
  for (let partition = 0; partition < PARTITIONS; partition++) {
    for (let i = 0; i < perPartition; i++) sends.push(producer.send({ topic, partition, value: `v${i}` }))
  }
  await Promise.all(sends)
}

describe('baton groups describe: lag while records are produced and consumed', () => {
  let broker: EmbeddedBroker
  let producer: Producer
  let kafka: Kafka
  let admin: KafkaJsAdmin
  before(async () => {
    broker = await startBroker({ port: 0 })
    producer = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 1 })
    kafka = new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING, clientId: 'lag-test-admin' })
    admin = kafka.admin()
    await admin.connect()
  })
  after(async () => {
    await admin.disconnect()
    await producer.close()
    await broker.stop()
  })

  it('a group of the framework\'s apps: committed offsets held at 50, then caught up', { timeout: 120_000 }, async () => {
    const topic = 'lag-app'
    broker.createTopic(topic, { partitions: PARTITIONS })
    await produceEach(producer, topic, 80)
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const app: BatonApp = baton({ brokers: broker.bootstrap, groupId: 'lag-app-group', commitIntervalMs: 100, signals: false, logger: silentLogger, kafka: { clientId: 'lag-app' } })
    app.consume(topic, async (record) => {
      if (record.offset >= 50n) await gate
    })
    await app.start()
    try {
      // The handler holds every partition at offset 50: the framework commits 50 and no further.
      const held = await until('commits at 50', () => expected(admin, 'lag-app-group', topic), (e) => e.every((p) => p.committed === 50))
      let described = await describeCli(broker, 'lag-app-group')
      assert.deepEqual(figures(described), held)
      assert.deepEqual(held.map((p) => p.lag), [30, 30, 30])
      assert.equal(described.totalLag, 90)
      assert.equal(described.state, 'Stable')
      assert.equal(described.protocol, 'classic')
      assert.equal(described.members.length, 1)
      const [member] = described.members
      assert.equal(member!.clientId, 'lag-app')
      assert.equal(member!.clientHost, '/127.0.0.1')
      assert.deepEqual(member!.assignment.map((tp) => tp.partition).sort(), [0, 1, 2])
      assert.ok(described.partitions.every((p) => p.memberId === member!.memberId && p.clientId === 'lag-app'))

      // More records: the end offsets move, the commits do not, so the lag grows by exactly that.
      await produceEach(producer, topic, 20)
      described = await describeCli(broker, 'lag-app-group')
      assert.deepEqual(figures(described), await expected(admin, 'lag-app-group', topic))
      assert.deepEqual(described.partitions.map((p) => p.lag), [50, 50, 50])

      // Released: everything is processed and committed, lag 0 at the end offsets.
      release()
      await until('commits at the end', () => expected(admin, 'lag-app-group', topic), (e) => e.every((p) => p.committed === 100))
      described = await describeCli(broker, 'lag-app-group')
      assert.deepEqual(figures(described), await expected(admin, 'lag-app-group', topic))
      assert.equal(described.totalLag, 0)
    } finally {
      release()
      await app.stop()
    }
  })

  it('a KafkaJS group: offsets it committed by hand, and records produced after', { timeout: 120_000 }, async () => {
    const topic = 'lag-kafkajs'
    broker.createTopic(topic, { partitions: PARTITIONS })
    await produceEach(producer, topic, 60)
    const consumer: KafkaJsConsumer = kafka.consumer({ groupId: 'lag-kafkajs-group', allowAutoTopicCreation: false })
    const seen = new Map<number, number>()
    await consumer.connect()
    try {
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachMessage: ({ partition }) => {
          seen.set(partition, (seen.get(partition) ?? 0) + 1)
          return Promise.resolve()
        },
      })
      await until('KafkaJS to read everything', () => Promise.resolve([...seen.values()]), (v) => v.length === PARTITIONS && v.every((n) => n === 60))
      await consumer.commitOffsets([
        { topic, partition: 0, offset: '10' },
        { topic, partition: 1, offset: '35' },
        { topic, partition: 2, offset: '60' },
      ])
      let described = await describeCli(broker, 'lag-kafkajs-group')
      assert.deepEqual(figures(described), await expected(admin, 'lag-kafkajs-group', topic))
      assert.deepEqual(described.partitions.map((p) => p.lag), [50, 25, 0])
      assert.equal(described.state, 'Stable')
      assert.equal(described.members.length, 1)
      assert.equal(described.members[0]!.clientHost, '/127.0.0.1')
      assert.deepEqual(described.members[0]!.assignment.map((tp) => tp.partition).sort(), [0, 1, 2])

      await produceEach(producer, topic, 7)
      described = await describeCli(broker, 'lag-kafkajs-group')
      assert.deepEqual(figures(described), await expected(admin, 'lag-kafkajs-group', topic))
      assert.deepEqual(described.partitions.map((p) => p.lag), [57, 32, 7])
    } finally {
      await consumer.disconnect()
    }
  })
})
