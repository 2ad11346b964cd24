/**
 * Invariant: @platformatic/kafka (a client baton did not write; it needs Node >= 22, so run.sh
 * runs this file on a Node 22 binary) produces to the embedded broker on 1 and 3 nodes with its
 * idempotent producer (every record once, in order, after an InitProducerId that carries a
 * producer id and epoch) and with its transactions: read_committed readers (baton's consumer) see
 * a committed transaction's records and never an aborted one's; read_uncommitted readers see both.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Producer, stringSerializers } from '@platformatic/kafka'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { Consumer, type ConsumerRecord } from '../../../src/client/index.js'

const TIMEOUT_MS = 30_000

async function read(bootstrap: string[], topic: string, partitions: number, isolation: 'read_committed' | 'read_uncommitted', count: number): Promise<ConsumerRecord[]> {
  const consumer = new Consumer({ bootstrapServers: bootstrap, autoOffsetReset: 'earliest', isolationLevel: isolation })
  const records: ConsumerRecord[] = []
  const timer = setTimeout(() => void consumer.close(), TIMEOUT_MS)
  try {
    await consumer.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })))
    for await (const record of consumer) {
      records.push(record)
      if (records.length === count) break
    }
  } finally {
    clearTimeout(timer)
    await consumer.close()
  }
  return records
}

for (const nodes of [1, 3]) {
  describe(`@platformatic/kafka against the embedded broker, ${nodes} node(s)`, () => {
    let broker: EmbeddedBroker
    before(async () => {
      broker = await startBroker({ nodes, memory: true })
    })
    after(async () => {
      await broker.stop()
    })

    it('idempotent producer: every record written once, in order per partition', async () => {
      const topic = `plt-idempotent-${nodes}`
      broker.createTopic(topic, { partitions: 3 })
      const producer = new Producer({ clientId: 'plt-idempotent', bootstrapBrokers: broker.bootstrap, idempotent: true, serializers: stringSerializers })
      try {
        for (let round = 0; round < 10; round++) {
          await producer.send({ messages: Array.from({ length: 30 }, (_, i) => ({ topic, partition: i % 3, key: `k${i % 3}`, value: `v-${round * 30 + i}` })) })
        }
      } finally {
        await producer.close()
      }
      const records = await read(broker.bootstrap, topic, 3, 'read_uncommitted', 300)
      const values = records.map((r) => Number(r.value?.toString().slice(2)))
      assert.equal(new Set(values).size, 300, 'each record once')
      for (let p = 0; p < 3; p++) {
        const ofPartition = records.filter((r) => r.partition === p).map((r) => Number(r.value?.toString().slice(2)))
        assert.deepEqual(ofPartition, [...ofPartition].sort((a, b) => a - b), `partition ${p} in order`)
      }
    })

    it('transactions: committed records are read_committed-visible, aborted ones are not', async () => {
      const topic = `plt-txn-${nodes}`
      broker.createTopic(topic, { partitions: 2 })
      const producer = new Producer({ clientId: 'plt-txn', bootstrapBrokers: broker.bootstrap, idempotent: true, transactionalId: `plt-txn-${nodes}`, serializers: stringSerializers })
      try {
        const committed = await producer.beginTransaction()
        await committed.send({ messages: Array.from({ length: 20 }, (_, i) => ({ topic, partition: i % 2, value: `committed-${i}` })) })
        await committed.commit()
        const aborted = await producer.beginTransaction()
        await aborted.send({ messages: Array.from({ length: 20 }, (_, i) => ({ topic, partition: i % 2, value: `aborted-${i}` })) })
        await aborted.abort()
        const last = await producer.beginTransaction()
        await last.send({ messages: [{ topic, partition: 0, value: 'last' }] })
        await last.commit()
      } finally {
        await producer.close()
      }
      const visible = (await read(broker.bootstrap, topic, 2, 'read_committed', 21)).map((r) => r.value?.toString() ?? '')
      assert.equal(visible.filter((v) => v.startsWith('committed-')).length, 20)
      assert.deepEqual(visible.filter((v) => v.startsWith('aborted-')), [])
      assert.ok(visible.includes('last'))
      const everything = (await read(broker.bootstrap, topic, 2, 'read_uncommitted', 41)).map((r) => r.value?.toString() ?? '')
      assert.equal(everything.filter((v) => v.startsWith('aborted-')).length, 20)
    })
  })
}
