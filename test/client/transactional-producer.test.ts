/**
 * The transactional producer's request flow and error handling, against a scripted coordinator:
 * partitions are added (batched) before their first record, EndTxn goes out only after every
 * record is acknowledged, offsets carry the group's generation (KIP-447), retriable coordinator
 * errors are retried, abortable errors abort (bumping the epoch when sequences are in doubt), and
 * a fenced producer refuses every later call with the same error.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { ConfigError } from '../../src/client/errors.js'
import { Producer, type ProducerConfig } from '../../src/client/producer/producer.js'
import { ProducerFencedError, TransactionAbortableError, TransactionStateError } from '../../src/client/producer/transaction-errors.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { EndTxn, FindCoordinator, InitProducerId, Produce, TxnOffsetCommit } from '../../src/protocol/generated/index.js'
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

describe('transactional producer', () => {
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

  it('transaction() aborts when the work throws, rethrows, and the producer goes on', async () => {
    const { coordinator, producer } = await setup()
    const failure = new Error('transform failed')
    await assert.rejects(
      producer.transaction(async (tx) => {
        await tx.send({ topic: 't', partition: 0, value: 'doomed' })
        throw failure
      }),
      (error) => error === failure,
    )
    assert.equal(coordinator.journal.at(-1), 'end abort')
    assert.equal(producer.transactionState, 'ready')
    await producer.transaction(async (tx) => {
      await tx.send({ topic: 't', partition: 0, value: 'kept' })
    })
    assert.equal(coordinator.journal.at(-1), 'end commit')
  })

  it('sends no EndTxn for a transaction that wrote nothing', async () => {
    const { cluster, producer } = await setup()
    await producer.initTransactions()
    producer.beginTransaction()
    await producer.commitTransaction()
    producer.beginTransaction()
    await producer.abortTransaction()
    assert.equal(cluster.requests(EndTxn).length, 0)
  })

  it('retries CONCURRENT_TRANSACTIONS and COORDINATOR_LOAD_IN_PROGRESS, and follows a coordinator that moved', async () => {
    const { coordinator, producer, cluster } = await setup({}, 2)
    coordinator.failNext(InitProducerId, KafkaErrorCode.CONCURRENT_TRANSACTIONS, 3)
    coordinator.failNext(InitProducerId, KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 1)
    await producer.initTransactions()
    assert.equal(cluster.requests(InitProducerId).length, 5)
    producer.beginTransaction()
    await producer.send({ topic: 't', partition: 0, value: 'v' })
    const lookups = cluster.requests(FindCoordinator).length
    coordinator.coordinatorNode = 1
    await producer.commitTransaction()
    assert.ok(cluster.requests(FindCoordinator).length > lookups, 'NOT_COORDINATOR made the producer look the coordinator up again')
    assert.equal(coordinator.journal.at(-1), 'end commit')
  })

  it('is fenced for good by PRODUCER_FENCED: every later call fails with ProducerFencedError', async () => {
    const { cluster, producer } = await setup()
    await producer.initTransactions()
    producer.beginTransaction()
    await producer.send({ topic: 't', partition: 0, value: 'zombie' })
    // A second producer with the same transactional id takes over.
    const usurper = new Producer({ bootstrapServers: cluster.bootstrap, transactionalId: 'tx-1' })
    producers.push(usurper)
    await usurper.initTransactions()
    await assert.rejects(producer.commitTransaction(), ProducerFencedError)
    assert.equal(producer.transactionState, 'fatal-error')
    await assert.rejects(producer.send({ topic: 't', value: 'again' }), ProducerFencedError)
    assert.throws(() => producer.beginTransaction(), ProducerFencedError)
    await assert.rejects(producer.abortTransaction(), ProducerFencedError)
    await usurper.transaction(async (tx) => {
      await tx.send({ topic: 't', partition: 0, value: 'new owner' })
    })
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

  it('offsets refused because the group moved on make the transaction abortable, without an epoch bump', async () => {
    const { coordinator, producer, cluster } = await setup()
    await producer.initTransactions()
    producer.beginTransaction()
    coordinator.failNext(TxnOffsetCommit, KafkaErrorCode.ILLEGAL_GENERATION)
    await assert.rejects(producer.sendOffsets([{ topic: 'in', partition: 0, offset: 1n }], GROUP), (error) => {
      assert.ok(error instanceof TransactionAbortableError)
      assert.match(error.message, /ILLEGAL_GENERATION|generation/i)
      return true
    })
    await producer.abortTransaction()
    assert.equal(cluster.requests(InitProducerId).length, 1)
    assert.equal(producer.transactionState, 'ready')
  })

  it('refuses misuse with TransactionStateError saying what to do', async () => {
    const { producer } = await setup()
    assert.throws(() => producer.beginTransaction(), (e) => e instanceof TransactionStateError && /initTransactions/.test(e.message))
    await producer.initTransactions()
    await assert.rejects(producer.send({ topic: 't', value: 'x' }), (e) => e instanceof TransactionStateError && /beginTransaction/.test(e.message))
    await assert.rejects(producer.commitTransaction(), TransactionStateError)
    producer.beginTransaction()
    assert.throws(() => producer.beginTransaction(), TransactionStateError)
    await assert.rejects(producer.initTransactions(), TransactionStateError)
  })

  it('checks its options', () => {
    assert.throws(() => new Producer({ bootstrapServers: 'localhost:1', transactionalId: 'x', idempotent: false, acks: 1 }), ConfigError)
    assert.throws(() => new Producer({ bootstrapServers: 'localhost:1', transactionalId: '' }), ConfigError)
    assert.throws(() => new Producer({ bootstrapServers: 'localhost:1', transactionTimeoutMs: 1000 }), ConfigError)
    const plain = new Producer({ bootstrapServers: 'localhost:1' })
    assert.throws(() => plain.beginTransaction(), (e) => e instanceof ConfigError && e.option === 'transactionalId')
    void plain.close(10)
  })
})
