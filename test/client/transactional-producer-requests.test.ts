/**
 * The transactional producer's request flow, against a scripted coordinator
 * (helpers/txn-coordinator.ts over helpers/mock-cluster.ts): partitions are added (batched) before
 * their first record, EndTxn goes out only after every record is acknowledged, offsets carry the
 * group's generation, member and instance (KIP-447), and an abort after a failed record bumps the
 * epoch of the same producer id (KIP-360).
 *
 * These stay on the fake because what they assert is the content and order of the requests the
 * producer sends (the journal: which partitions went in which AddPartitionsToTxn, the group
 * metadata in TxnOffsetCommit, the producer id and epoch an InitProducerId asks for), which the
 * embedded broker does not record for a test. The producer's behaviour against a real
 * coordinator (retries, a moved coordinator, fencing, aborts, misuse) runs on the embedded broker
 * in transactional-producer.test.ts.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { Producer, type ProducerConfig } from '../../src/client/producer/producer.js'
import { TransactionAbortableError } from '../../src/client/producer/transaction-errors.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { InitProducerId, Produce } from '../../src/protocol/generated/index.js'
import { MockCluster } from './helpers/mock-cluster.js'
import { MockTxnCoordinator } from './helpers/txn-coordinator.js'

const clusters: MockCluster[] = []
const producers: Producer[] = []

async function setup(config: Partial<ProducerConfig> = {}, nodes = 1) {
  const cluster = await MockCluster.start(nodes)
  clusters.push(cluster)
  cluster.createTopic('t', 3)
  const coordinator = new MockTxnCoordinator(cluster)
  const producer = new Producer({ bootstrapServers: cluster.bootstrap, transactionalId: 'tx-1', retryBackoffMs: 5, retryBackoffMaxMs: 20, maxBlockMs: 5_000, ...config })
  producers.push(producer)
  return { cluster, coordinator, producer }
}

afterEach(async () => {
  await Promise.all(producers.splice(0).map((p) => p.close(1000)))
  await Promise.all(clusters.splice(0).map((c) => c.close()))
})

const GROUP = { groupId: 'g1', generationId: 3, memberId: 'member-a', groupInstanceId: 'instance-a' }

describe('transactional producer requests', () => {
  it('adds partitions in one request before their records, and ends the transaction after the acknowledgements', async () => {
    const { coordinator, producer, cluster } = await setup({ transactionTimeoutMs: 30_000 })
    await producer.initTransactions()
    await producer.cluster.waitForTopics(['t'])
    const init = cluster.requests(InitProducerId)[0]!.body as { transactionalId: string; transactionTimeoutMs: number }
    assert.equal(init.transactionalId, 'tx-1')
    assert.equal(init.transactionTimeoutMs, 30_000)
    producer.beginTransaction()
    assert.equal(producer.transactionState, 'in-transaction')
    const sent = await Promise.all([0, 1, 0, 1].map((partition, i) => producer.send({ topic: 't', partition, value: `v${i}` })))
    await producer.commitTransaction()
    assert.equal(producer.transactionState, 'ready')
    assert.deepEqual(
      sent.map((s) => s.partition),
      [0, 1, 0, 1],
    )
    const journal = coordinator.journal.filter((e) => e !== 'find-coordinator')
    assert.equal(journal[0], 'init tx-1 pid=5000 epoch=0')
    assert.equal(journal[1], 'add t-0,t-1', 'both partitions in one AddPartitionsToTxn, before any record')
    assert.deepEqual(journal.slice(2, -1).sort(), ['produce t-0 txn=tx-1 epoch=0', 'produce t-1 txn=tx-1 epoch=0'])
    assert.equal(journal.at(-1), 'end commit')
  })

  it('commits offsets with the group metadata (KIP-447) through AddOffsetsToTxn and TxnOffsetCommit', async () => {
    const { coordinator, producer } = await setup()
    await producer.transaction(async (tx) => {
      await tx.send({ topic: 't', partition: 2, value: 'out' })
      await tx.sendOffsets([{ topic: 'in', partition: 0, offset: 42n }], GROUP)
    })
    const journal = coordinator.journal.filter((e) => e !== 'find-coordinator')
    assert.deepEqual(journal.slice(1), ['add t-2', 'produce t-2 txn=tx-1 epoch=0', 'add-offsets g1', 'offsets g1 gen=3 member=member-a instance=instance-a', 'end commit'])
    assert.equal(coordinator.offsets.get('g1/in-0'), 42n)
  })

  it('a record that fails makes the transaction abortable; the abort bumps the epoch (KIP-360) and the next one commits', async () => {
    const { coordinator, producer, cluster } = await setup()
    await producer.initTransactions()
    producer.beginTransaction()
    coordinator.failNext(Produce, KafkaErrorCode.INVALID_RECORD)
    await assert.rejects(producer.send({ topic: 't', partition: 0, value: 'lost' }))
    await assert.rejects(producer.commitTransaction(), TransactionAbortableError)
    assert.equal(producer.transactionState, 'abortable-error')
    await assert.rejects(producer.send({ topic: 't', partition: 0, value: 'refused' }), TransactionAbortableError)
    await producer.abortTransaction()
    const bump = cluster.requests(InitProducerId).at(-1)!.body as { producerId: bigint; producerEpoch: number }
    assert.deepEqual([bump.producerId, bump.producerEpoch], [5000n, 0])
    assert.ok(coordinator.journal.includes('end abort'))
    assert.equal(coordinator.journal.at(-1), 'init tx-1 pid=5000 epoch=1 (bump from 0)')
    await producer.transaction(async (tx) => {
      await tx.send({ topic: 't', partition: 0, value: 'retried' })
    })
    assert.ok(coordinator.journal.includes('produce t-0 txn=tx-1 epoch=1'))
    assert.equal(coordinator.journal.at(-1), 'end commit')
  })
})
