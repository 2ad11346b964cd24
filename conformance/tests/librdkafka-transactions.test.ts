/**
 * Invariant: librdkafka's transactional producer (through @confluentinc/kafka-javascript) works
 * against baton's embedded transaction coordinator on 1 and 3 nodes: a committed transaction's
 * records are read by read_committed readers and an aborted one's are not (read_uncommitted
 * readers see both); offsets sent with an aborted transaction are not committed for the group, and
 * those sent with a committed one are; and consume-transform-produce with a librdkafka group
 * member reading read_committed commits outputs and input offsets as one. The readers are
 * librdkafka's consumer and baton's, so each side reads what the other wrote.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import Kafka from '@confluentinc/kafka-javascript'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Admin, Consumer, Producer, type ConsumerRecord } from '../../src/client/index.js'

const TIMEOUT_MS = 30_000

function promised(run: (cb: (err: Kafka.LibrdKafkaError | null | undefined) => void) => void, what: string): Promise<void> {
  return new Promise((resolve, reject) => run((err) => (err ? reject(new Error(`${what} failed: ${err.message}`, { cause: err })) : resolve())))
}

async function transactionalProducer(bootstrap: string, transactionalId: string): Promise<Kafka.Producer> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': bootstrap, 'transactional.id': transactionalId, 'linger.ms': 5 })
  await promised((cb) => producer.connect({}, (err) => cb(err)), 'connect')
  await promised((cb) => producer.initTransactions(TIMEOUT_MS, cb), 'initTransactions')
  return producer
}

function disconnect(client: Kafka.Producer | Kafka.KafkaConsumer): Promise<void> {
  return new Promise((resolve) => client.disconnect(() => resolve()))
}

/** Reads with librdkafka until every partition reaches its end (the LSO for read_committed). */
function readWithLibrdkafka(bootstrap: string, topic: string, partitions: number, isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
  const consumer = new Kafka.KafkaConsumer(
    { 'bootstrap.servers': bootstrap, 'group.id': `reader-${topic}-${isolation}`, 'enable.auto.commit': false, 'enable.partition.eof': true, 'isolation.level': isolation },
    { 'auto.offset.reset': 'earliest' },
  )
  return new Promise((resolve, reject) => {
    const values: string[] = []
    const finished = new Set<number>()
    const deadline = setTimeout(() => reject(new Error(`librdkafka reader of ${topic} (${isolation}) saw no end within ${TIMEOUT_MS} ms; read ${values.length}`)), TIMEOUT_MS)
    consumer.on('event.error', reject)
    consumer.on('data', (message) => values.push(message.value?.toString() ?? ''))
    consumer.on('partition.eof', ({ partition }) => {
      finished.add(partition)
      if (finished.size === partitions) {
        clearTimeout(deadline)
        consumer.disconnect(() => resolve(values))
      }
    })
    consumer.connect({}, (err) => {
      if (err) return reject(new Error(`reader connect failed: ${err.message}`, { cause: err }))
      consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 0 })))
      consumer.consume()
    })
  })
}

/** Reads `count` records with baton's consumer at an isolation level. */
async function readWithBaton(bootstrap: string[], topic: string, partitions: number, isolation: 'read_committed' | 'read_uncommitted', count: number): Promise<string[]> {
  const consumer = new Consumer({ bootstrapServers: bootstrap, autoOffsetReset: 'earliest', isolationLevel: isolation })
  const records: ConsumerRecord[] = []
  try {
    await consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })))
    const timer = setTimeout(() => void consumer.close(), TIMEOUT_MS)
    for await (const record of consumer) {
      records.push(record)
      if (records.length === count) break
    }
    clearTimeout(timer)
  } finally {
    await consumer.close()
  }
  return records.map((r) => r.value?.toString() ?? '')
}

/** A librdkafka group member that reads read_committed and hands over the records as they come. */
async function groupMember(bootstrap: string, groupId: string, topic: string): Promise<{ consumer: Kafka.KafkaConsumer; next: (count: number) => Promise<Kafka.Message[]> }> {
  const consumer = new Kafka.KafkaConsumer(
    { 'bootstrap.servers': bootstrap, 'group.id': groupId, 'enable.auto.commit': false, 'isolation.level': 'read_committed', 'session.timeout.ms': 10_000 },
    { 'auto.offset.reset': 'earliest' },
  )
  const buffered: Kafka.Message[] = []
  let wake: (() => void) | undefined
  consumer.on('data', (message) => {
    buffered.push(message)
    wake?.()
  })
  await promised((cb) => consumer.connect({}, (err) => cb(err)), 'group member connect')
  consumer.subscribe([topic])
  consumer.consume()
  const next = async (count: number): Promise<Kafka.Message[]> => {
    const deadline = Date.now() + TIMEOUT_MS
    while (buffered.length < count) {
      if (Date.now() > deadline) throw new Error(`the group member got ${buffered.length} of ${count} records within ${TIMEOUT_MS} ms`)
      await new Promise<void>((resolve) => {
        wake = resolve
        setTimeout(resolve, 200)
      })
    }
    return buffered.splice(0, count)
  }
  return { consumer, next }
}

async function committedOffset(bootstrap: string[], groupId: string, topic: string, partition: number): Promise<bigint> {
  const admin = new Admin({ bootstrapServers: bootstrap })
  try {
    const offsets = await admin.fetchOffsets(groupId, [{ topic, partitions: [partition] }])
    return offsets[0]?.offset ?? -1n
  } finally {
    await admin.close()
  }
}

async function seed(bootstrap: string[], topic: string, values: readonly string[]): Promise<void> {
  const producer = new Producer({ bootstrapServers: bootstrap })
  await producer.sendBatch(values.map((value) => ({ topic, partition: 0, value })))
  await producer.close()
}

for (const nodes of [1, 3]) {
  describe(`librdkafka transactions against the embedded broker, ${nodes} node(s)`, () => {
    let broker: EmbeddedBroker
    let bootstrap: string
    before(async () => {
      broker = await startBroker({ nodes, memory: true })
      bootstrap = broker.bootstrap.join(',')
    })
    after(async () => {
      await broker.stop()
    })

    it('commits and aborts: read_committed readers see the committed records only, read_uncommitted both', async () => {
      const topic = `rdk-txn-${nodes}`
      broker.createTopic(topic, { partitions: 3 })
      const producer = await transactionalProducer(bootstrap, `rdk-commit-${nodes}`)
      try {
        await promised((cb) => producer.beginTransaction(cb), 'beginTransaction')
        for (let i = 0; i < 30; i++) producer.produce(topic, i % 3, Buffer.from(`committed-${i}`))
        await promised((cb) => producer.commitTransaction(TIMEOUT_MS, cb), 'commitTransaction')
        await promised((cb) => producer.beginTransaction(cb), 'beginTransaction')
        for (let i = 0; i < 30; i++) producer.produce(topic, i % 3, Buffer.from(`aborted-${i}`))
        await promised((cb) => producer.flush(TIMEOUT_MS, cb), 'flush')
        await promised((cb) => producer.abortTransaction(TIMEOUT_MS, cb), 'abortTransaction')
      } finally {
        await disconnect(producer)
      }
      const committed = await readWithLibrdkafka(bootstrap, topic, 3, 'read_committed')
      assert.deepEqual(committed.sort(), Array.from({ length: 30 }, (_, i) => `committed-${i}`).sort())
      const everything = await readWithLibrdkafka(bootstrap, topic, 3, 'read_uncommitted')
      assert.equal(everything.length, 60)
      assert.equal(everything.filter((v) => v.startsWith('aborted-')).length, 30)
      const byBaton = await readWithBaton(broker.bootstrap, topic, 3, 'read_committed', 30)
      assert.deepEqual(byBaton.sort(), committed.sort())
    })

    it('offsets sent with an aborted transaction are not committed; with a committed one they are (consume-transform-produce)', async () => {
      const input = `rdk-ctp-in-${nodes}`
      const output = `rdk-ctp-out-${nodes}`
      const groupId = `rdk-ctp-${nodes}`
      broker.createTopic(input, { partitions: 1 })
      broker.createTopic(output, { partitions: 1 })
      // The input itself holds an aborted transaction, written by baton's producer: the member must skip it.
      await seed(broker.bootstrap, input, ['in-0', 'in-1', 'in-2', 'in-3', 'in-4'])
      const baton = new Producer({ bootstrapServers: broker.bootstrap, transactionalId: `baton-input-${nodes}` })
      await assert.rejects(
        baton.transaction(async (tx) => {
          await tx.sendBatch(['never-0', 'never-1'].map((value) => ({ topic: input, partition: 0, value })))
          throw new Error('abort')
        }),
      )
      await baton.transaction(async (tx) => {
        await tx.sendBatch(['in-5', 'in-6', 'in-7', 'in-8', 'in-9'].map((value) => ({ topic: input, partition: 0, value })))
      })
      await baton.close()

      const member = await groupMember(bootstrap, groupId, input)
      const producer = await transactionalProducer(bootstrap, `rdk-ctp-${nodes}`)
      try {
        const first = await member.next(5)
        assert.deepEqual(
          first.map((m) => m.value?.toString()),
          ['in-0', 'in-1', 'in-2', 'in-3', 'in-4'],
        )
        // Attempt 1: transformed, offsets sent, then aborted.
        await promised((cb) => producer.beginTransaction(cb), 'beginTransaction')
        for (const m of first) producer.produce(output, 0, Buffer.from(`out-of-${m.value?.toString()}`))
        // Flushed, so that the aborted outputs are in the log (librdkafka drops unsent ones on abort).
        await promised((cb) => producer.flush(TIMEOUT_MS, cb), 'flush')
        const nextOffset = first.at(-1)!.offset + 1
        await promised((cb) => producer.sendOffsetsToTransaction([{ topic: input, partition: 0, offset: nextOffset }], member.consumer, TIMEOUT_MS, cb), 'sendOffsetsToTransaction')
        await promised((cb) => producer.abortTransaction(TIMEOUT_MS, cb), 'abortTransaction')
        assert.equal(await committedOffset(broker.bootstrap, groupId, input, 0), -1n, 'offsets of the aborted transaction were committed')
        // Attempt 2 of the same records, committed; then the rest of the input.
        for (const batch of [first, await member.next(5)]) {
          await promised((cb) => producer.beginTransaction(cb), 'beginTransaction')
          for (const m of batch) producer.produce(output, 0, Buffer.from(`out-of-${m.value?.toString()}`))
          const offset = batch.at(-1)!.offset + 1
          await promised((cb) => producer.sendOffsetsToTransaction([{ topic: input, partition: 0, offset }], member.consumer, TIMEOUT_MS, cb), 'sendOffsetsToTransaction')
          await promised((cb) => producer.commitTransaction(TIMEOUT_MS, cb), 'commitTransaction')
          assert.equal(await committedOffset(broker.bootstrap, groupId, input, 0), BigInt(offset))
        }
      } finally {
        await disconnect(producer)
        await disconnect(member.consumer)
      }
      const expected = Array.from({ length: 10 }, (_, i) => `out-of-in-${i}`)
      assert.deepEqual(await readWithLibrdkafka(bootstrap, output, 1, 'read_committed'), expected)
      assert.deepEqual(await readWithBaton(broker.bootstrap, output, 1, 'read_committed', 10), expected)
      const uncommitted = await readWithLibrdkafka(bootstrap, output, 1, 'read_uncommitted')
      assert.equal(uncommitted.length, 15, 'the aborted attempt’s five outputs are in the log')
    })
  })
}
