/**
 * The transactional producer against the embedded broker's transaction coordinator: a transaction
 * that throws is aborted and the producer goes on, an empty one sends no EndTxn, retriable
 * coordinator errors are retried and a moved coordinator is followed, offsets refused because the
 * group moved on make the transaction abortable without an epoch bump, a fenced producer refuses
 * every later call with the same error, and misuse is refused saying what to do. The request flow
 * itself is checked against a scripted coordinator in transactional-producer-requests.test.ts.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { ConfigError } from '../../src/client/errors.js'
import { Producer, type ProducerConfig } from '../../src/client/producer/producer.js'
import { ProducerFencedError, TransactionAbortableError, TransactionStateError } from '../../src/client/producer/transaction-errors.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { EndTxn, FindCoordinator, InitProducerId, TxnOffsetCommit } from '../../src/protocol/generated/index.js'
import { EmbeddedCluster } from './helpers/embedded-cluster.js'

const clusters: EmbeddedCluster[] = []
const producers: Producer[] = []

async function setup(config: Partial<ProducerConfig> = {}, nodes = 1) {
  const cluster = await EmbeddedCluster.start(nodes)
  clusters.push(cluster)
  cluster.broker.createTopic('t', { partitions: 3 })
  cluster.broker.createTopic('in', { partitions: 1 })
  const producer = new Producer({ bootstrapServers: cluster.bootstrap, transactionalId: 'tx-1', retryBackoffMs: 5, retryBackoffMaxMs: 20, maxBlockMs: 5_000, ...config })
  producers.push(producer)
  return { cluster, producer }
}

/** Waits for the marker that ends the latest transaction on partition `partition` of 't', and says which it is. */
async function lastMarker(cluster: EmbeddedCluster, partition: number, count: number): Promise<string | undefined> {
  const deadline = Date.now() + 5000
  for (;;) {
    const markers = await cluster.markers('t', partition)
    if (markers.length >= count || Date.now() > deadline) return markers.at(-1)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

afterEach(async () => {
  await Promise.all(producers.splice(0).map((p) => p.close(1000)))
  await Promise.all(clusters.splice(0).map((c) => c.close()))
})

const GROUP = { groupId: 'g1', generationId: 3, memberId: 'member-a', groupInstanceId: 'instance-a' }

describe('transactional producer', () => {
  it('transaction() aborts when the work throws, rethrows, and the producer goes on', async () => {
    const { cluster, producer } = await setup()
    const failure = new Error('transform failed')
    await assert.rejects(
      producer.transaction(async (tx) => {
        await tx.send({ topic: 't', partition: 0, value: 'doomed' })
        throw failure
      }),
      (error) => error === failure,
    )
    assert.equal(await lastMarker(cluster, 0, 1), 'abort')
    assert.equal(producer.transactionState, 'ready')
    await producer.transaction(async (tx) => {
      await tx.send({ topic: 't', partition: 0, value: 'kept' })
    })
    assert.equal(await lastMarker(cluster, 0, 2), 'commit')
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
    const { producer, cluster } = await setup({}, 2)
    cluster.broker.faults.failNext(InitProducerId, KafkaErrorCode.CONCURRENT_TRANSACTIONS, { count: 3 })
    cluster.broker.faults.failNext(InitProducerId, KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS, { count: 1 })
    await producer.initTransactions()
    assert.equal(cluster.requests(InitProducerId).length, 5)
    producer.beginTransaction()
    await producer.send({ topic: 't', partition: 0, value: 'v' })
    const lookups = cluster.requests(FindCoordinator).length
    cluster.broker.faults.moveTransactionCoordinator('tx-1', cluster.sentTo(cluster.requests(InitProducerId).at(-1)!, 0) ? 1 : 0)
    await producer.commitTransaction()
    assert.ok(cluster.requests(FindCoordinator).length > lookups, 'NOT_COORDINATOR made the producer look the coordinator up again')
    assert.equal(await lastMarker(cluster, 0, 1), 'commit')
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

  it('offsets refused because the group moved on make the transaction abortable, without an epoch bump', async () => {
    const { producer, cluster } = await setup()
    await producer.initTransactions()
    producer.beginTransaction()
    cluster.broker.faults.failNext(TxnOffsetCommit, KafkaErrorCode.ILLEGAL_GENERATION)
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
