/**
 * KafkaJS transactions, unmodified, against the embedded broker on 1 and 3 nodes: commit, abort,
 * sendOffsets (KIP-98's consume-transform-produce offsets), and a zombie fenced by a second
 * producer with the same transactional id. read_committed and read_uncommitted readers must see
 * exactly what Kafka would show them.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Kafka, logLevel, type Producer } from 'kafkajs'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { readValues } from './helpers.js'

for (const nodes of [1, 3]) {
  describe(`KafkaJS transactions against ${nodes} node(s)`, () => {
    let broker: EmbeddedBroker
    let kafka: Kafka
    const producers: Producer[] = []

    before(async () => {
      broker = await startBroker({ nodes })
      kafka = new Kafka({ clientId: 'txn-conformance', brokers: broker.bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 50 } })
    })
    after(async () => {
      for (const p of producers) await p.disconnect().catch(() => {})
      await broker.stop()
    })

    async function transactional(transactionalId: string): Promise<Producer> {
      const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 })
      producers.push(producer)
      await producer.connect()
      return producer
    }

    it('a committed transaction is visible to read_committed readers, an aborted one only to read_uncommitted', async () => {
      broker.createTopic('kjs-commit', { partitions: 3, replicationFactor: Math.min(nodes, 3) })
      const producer = await transactional(`kjs-commit-${nodes}`)
      const committed = await producer.transaction()
      await committed.send({ topic: 'kjs-commit', messages: [0, 1, 2].map((i) => ({ key: `k${i}`, value: `committed-${i}`, partition: i })) })
      await committed.commit()
      const aborted = await producer.transaction()
      await aborted.send({ topic: 'kjs-commit', messages: [0, 1, 2].map((i) => ({ key: `k${i}`, value: `aborted-${i}`, partition: i })) })
      await aborted.abort()
      const again = await producer.transaction()
      await again.send({ topic: 'kjs-commit', messages: [{ value: 'second-commit', partition: 0 }] })
      await again.commit()

      const readCommitted = (await Promise.all([0, 1, 2].map((p) => readValues(broker, 'kjs-commit', p, 'read_committed')))).flat().sort()
      assert.deepEqual(readCommitted, ['committed-0', 'committed-1', 'committed-2', 'second-commit'])
      const readUncommitted = (await Promise.all([0, 1, 2].map((p) => readValues(broker, 'kjs-commit', p, 'read_uncommitted')))).flat().sort()
      assert.deepEqual(readUncommitted, ['aborted-0', 'aborted-1', 'aborted-2', 'committed-0', 'committed-1', 'committed-2', 'second-commit'])
    })

    it('sendOffsets commits the consumer group offsets with the transaction, and an abort drops them', async () => {
      broker.createTopic('kjs-offsets-in', { partitions: 1 })
      broker.createTopic('kjs-offsets-out', { partitions: 1 })
      const groupId = `kjs-group-${nodes}`
      const producer = await transactional(`kjs-offsets-${nodes}`)
      const admin = kafka.admin()
      await admin.connect()
      try {
        const first = await producer.transaction()
        await first.send({ topic: 'kjs-offsets-out', messages: [{ value: 'out-1' }] })
        await first.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: 'kjs-offsets-in', partitions: [{ partition: 0, offset: '5' }] }] })
        await first.commit()
        const second = await producer.transaction()
        await second.send({ topic: 'kjs-offsets-out', messages: [{ value: 'out-2' }] })
        await second.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: 'kjs-offsets-in', partitions: [{ partition: 0, offset: '9' }] }] })
        await second.abort()
        const offsets = await admin.fetchOffsets({ groupId, topics: ['kjs-offsets-in'] })
        assert.equal(offsets[0]!.partitions[0]!.offset, '5')
        assert.deepEqual(await readValues(broker, 'kjs-offsets-out', 0, 'read_committed'), ['out-1'])
      } finally {
        await admin.disconnect()
      }
    })

    it('a second producer with the same transactional id fences the first and aborts its open transaction', async () => {
      broker.createTopic('kjs-zombie', { partitions: 1 })
      const transactionalId = `kjs-zombie-${nodes}`
      const zombie = await transactional(transactionalId)
      const open = await zombie.transaction()
      await open.send({ topic: 'kjs-zombie', messages: [{ value: 'zombie' }] })
      const successor = await transactional(transactionalId)
      // KafkaJS asks for its producer id when the first transaction begins: that is the takeover.
      const txn = await successor.transaction()
      await assert.rejects(open.send({ topic: 'kjs-zombie', messages: [{ value: 'zombie-late' }] }), (error: Error & { type?: string }) => {
        assert.match(String(error.type ?? error.name), /INVALID_PRODUCER_EPOCH|PRODUCER_FENCED/)
        return true
      })
      await txn.send({ topic: 'kjs-zombie', messages: [{ value: 'successor' }] })
      await txn.commit()
      assert.deepEqual(await readValues(broker, 'kjs-zombie', 0, 'read_committed'), ['successor'])
      assert.deepEqual(await readValues(broker, 'kjs-zombie', 0, 'read_uncommitted'), ['zombie', 'successor'])
    })
  })
}
