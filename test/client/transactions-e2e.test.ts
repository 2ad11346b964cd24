/**
 * Invariant: on the embedded broker, baton's transactional producer and read_committed consumer
 * together give what a user of Kafka transactions relies on: a committed transaction's records and
 * offsets become visible together, an aborted one's never do (read_uncommitted still sees its
 * records), a zombie is fenced by its successor, and consume-transform-produce with a group member
 * commits outputs and input offsets as one.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Consumer, GroupConsumer, Producer, ProducerFencedError, TransactionAbortableError, type ConsumerRecord } from '../../src/client/index.js'
import { latestOffset, readValues } from '../broker/transactions/helpers.js'
import { take } from './helpers/take.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { AddPartitionsToTxn, InitProducerId } from '../../src/protocol/generated/index.js'

async function readAll(bootstrap: string[], topic: string, partitions: number, isolation: 'read_committed' | 'read_uncommitted', count: number): Promise<string[]> {
  const consumer = new Consumer({ bootstrapServers: bootstrap, autoOffsetReset: 'earliest', isolationLevel: isolation })
  try {
    await consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })))
    const records: ConsumerRecord[] = await take(consumer, count, 20_000)
    return records.map((r) => r.value?.toString() ?? '')
  } finally {
    await consumer.close()
  }
}

for (const nodes of [1, 3]) {
  describe(`baton's transactions on the embedded broker, ${nodes} node(s)`, () => {
    let broker: EmbeddedBroker
    before(async () => {
      broker = await startBroker({ nodes, memory: true })
    })
    after(async () => {
      await broker.stop()
    })

    it('read_committed sees committed transactions only; read_uncommitted sees aborted records too', async () => {
      const topic = `txn-visibility-${nodes}`
      broker.createTopic(topic, { partitions: 3 })
      const producer = new Producer({ bootstrapServers: broker.bootstrap, transactionalId: `visibility-${nodes}` })
      try {
        await producer.transaction(async (tx) => {
          await tx.sendBatch(Array.from({ length: 30 }, (_, i) => ({ topic, key: `k${i}`, value: `committed-${i}` })))
        })
        await assert.rejects(
          producer.transaction(async (tx) => {
            await tx.sendBatch(Array.from({ length: 30 }, (_, i) => ({ topic, key: `k${i}`, value: `aborted-${i}` })))
            throw new Error('changed my mind')
          }),
          /changed my mind/,
        )
        await producer.transaction(async (tx) => {
          await tx.send({ topic, key: 'k0', value: 'last' })
        })
      } finally {
        await producer.close()
      }
      const committed = await readAll(broker.bootstrap, topic, 3, 'read_committed', 31)
      assert.deepEqual(committed.filter((v) => v.startsWith('aborted')), [])
      assert.equal(committed.filter((v) => v.startsWith('committed')).length, 30)
      assert.ok(committed.includes('last'))
      const uncommitted = await readAll(broker.bootstrap, topic, 3, 'read_uncommitted', 61)
      assert.equal(uncommitted.filter((v) => v.startsWith('aborted')).length, 30)
    })

    it('fences a zombie: the successor aborts its open transaction, the zombie gets ProducerFencedError for good', async () => {
      const topic = `txn-zombie-${nodes}`
      broker.createTopic(topic, { partitions: 1 })
      const zombie = new Producer({ bootstrapServers: broker.bootstrap, transactionalId: `zombie-${nodes}` })
      const successor = new Producer({ bootstrapServers: broker.bootstrap, transactionalId: `zombie-${nodes}` })
      try {
        await zombie.initTransactions()
        zombie.beginTransaction()
        await zombie.send({ topic, partition: 0, value: 'from the zombie' })
        await successor.initTransactions()
        await assert.rejects(zombie.commitTransaction(), ProducerFencedError)
        await assert.rejects(zombie.send({ topic, partition: 0, value: 'again' }), ProducerFencedError)
        await successor.transaction(async (tx) => {
          await tx.send({ topic, partition: 0, value: 'from the successor' })
        })
      } finally {
        await zombie.close()
        await successor.close()
      }
      assert.deepEqual(await readValues(broker, topic, 0, 'read_committed'), ['from the successor'])
    })

    it('rides out the coordinator: CONCURRENT_TRANSACTIONS, loading, a coordinator that moved, slow markers', async () => {
      const topic = `txn-faults-${nodes}`
      const transactionalId = `faults-${nodes}`
      broker.createTopic(topic, { partitions: 2 })
      const producer = new Producer({ bootstrapServers: broker.bootstrap, transactionalId, retryBackoffMs: 10, retryBackoffMaxMs: 50 })
      try {
        broker.faults.failNext(InitProducerId, KafkaErrorCode.CONCURRENT_TRANSACTIONS, { count: 2 })
        broker.faults.failNext(AddPartitionsToTxn, KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
        await producer.transaction(async (tx) => {
          await tx.send({ topic, partition: 0, value: 'first' })
          broker.faults.moveTransactionCoordinator(transactionalId, nodes - 1)
          await tx.send({ topic, partition: 1, value: 'second' })
        })
        // Markers still being written when the next transaction starts: CONCURRENT_TRANSACTIONS until they are.
        const undo = broker.faults.delayTransactionMarkers(300)
        await producer.transaction(async (tx) => {
          await tx.send({ topic, partition: 0, value: 'third' })
        })
        undo()
        await producer.transaction(async (tx) => {
          await tx.send({ topic, partition: 1, value: 'fourth' })
        })
      } finally {
        broker.faults.clear()
        await producer.close()
      }
      assert.deepEqual(await readValues(broker, topic, 0, 'read_committed'), ['first', 'third'])
      assert.deepEqual(await readValues(broker, topic, 1, 'read_committed'), ['second', 'fourth'])
    })

    it('consume-transform-produce: outputs and the group offsets commit together, and neither on abort', async () => {
      const input = `ctp-in-${nodes}`
      const output = `ctp-out-${nodes}`
      const groupId = `ctp-group-${nodes}`
      broker.createTopic(input, { partitions: 1 })
      broker.createTopic(output, { partitions: 1 })
      const seed = new Producer({ bootstrapServers: broker.bootstrap })
      await seed.sendBatch(Array.from({ length: 10 }, (_, i) => ({ topic: input, partition: 0, value: `in-${i}` })))
      await seed.close()

      const consumer = new GroupConsumer({ bootstrapServers: broker.bootstrap, groupId, autoOffsetReset: 'earliest', isolationLevel: 'read_committed' })
      const producer = new Producer({ bootstrapServers: broker.bootstrap, transactionalId: `ctp-${nodes}` })
      try {
        consumer.subscribe([input])
        let attempts = 0
        for await (const batch of consumer.batches()) {
          const metadata = consumer.groupMetadata()
          assert.equal(metadata.groupId, groupId)
          assert.ok(metadata.generationId >= 1 && metadata.memberId !== '')
          // The pattern an application uses: run the batch's work in a transaction, again after an abort.
          for (;;) {
            const attempt = ++attempts
            try {
              await producer.transaction(async (tx) => {
                await tx.sendBatch(batch.records.map((r) => ({ topic: output, partition: 0, value: `out-of-${r.value?.toString() ?? ''}` })))
                await tx.sendOffsets([{ topic: input, partition: 0, offset: batch.nextOffset }], metadata)
                if (attempt === 1) throw new Error('first attempt fails')
              })
              break
            } catch (error) {
              assert.equal(attempt, 1, String(error))
              const [afterAbort] = await consumer.committed([{ topic: input, partition: 0 }])
              assert.equal(afterAbort!.offset, null, 'the aborted transaction committed no offset')
            }
          }
          const [committed] = await consumer.committed([{ topic: input, partition: 0 }])
          assert.equal(committed!.offset, batch.nextOffset)
          // KIP-447: offsets sent under a generation the group has left are refused; the transaction must abort.
          const stale = { ...metadata, generationId: metadata.generationId - 1 }
          await assert.rejects(
            producer.transaction(async (tx) => {
              await tx.send({ topic: output, partition: 0, value: 'from a stale member' })
              await tx.sendOffsets([{ topic: input, partition: 0, offset: 0n }], stale)
            }),
            TransactionAbortableError,
          )
          const [unchanged] = await consumer.committed([{ topic: input, partition: 0 }])
          assert.equal(unchanged!.offset, batch.nextOffset)
          if (batch.nextOffset === 10n) break
        }
      } finally {
        await consumer.close()
        await producer.close()
      }
      const outputs = await readValues(broker, output, 0, 'read_committed')
      assert.deepEqual(outputs, Array.from({ length: 10 }, (_, i) => `out-of-in-${i}`))
      assert.equal(await latestOffset(broker, output, 0, 'read_committed'), await latestOffset(broker, output, 0, 'read_uncommitted'))
    })
  })
}
