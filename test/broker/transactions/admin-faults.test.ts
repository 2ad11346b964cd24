/**
 * The transaction coordinator's admin views (DescribeTransactions, ListTransactions,
 * DescribeProducers), its placement over several nodes, and its fault controls: markers held back
 * (CONCURRENT_TRANSACTIONS, the LSO stays put) and a coordinator lost to another node.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { ManualScheduler } from '../../../src/broker/groups/scheduler.js'
import { KafkaErrorCode as E } from '../../../src/protocol/errors/kafka-errors.js'
import { DescribeProducers, DescribeTransactions, EndTxn, FindCoordinator, InitProducerId, ListTransactions } from '../../../src/protocol/generated/index.js'
import { latestOffset, readValues } from './helpers.js'
import { Wire, WireProducer } from './wire.js'

describe('transaction coordinator on 3 nodes: admin views and faults', () => {
  let broker: EmbeddedBroker
  let wire: Wire
  let clock: ManualScheduler

  before(async () => {
    clock = new ManualScheduler(Date.now())
    broker = await startBroker({ nodes: 3, transactions: { scheduler: clock } })
  })
  after(() => broker.stop())
  beforeEach(async () => {
    wire = await Wire.open(broker)
  })
  afterEach(async () => {
    broker.faults.clear()
    await wire.close()
  })

  it('places transactional ids over the nodes by hash; every other node answers NOT_COORDINATOR', async () => {
    const placed = new Set<number>()
    for (let i = 0; i < 12; i++) {
      const id = `placed-${i}`
      const found = await wire.conns[0]!.request(FindCoordinator, 3, { key: id, keyType: 1 })
      assert.equal(found.errorCode, 0)
      placed.add(found.nodeId)
      for (const [nodeId, conn] of wire.conns.entries()) {
        const r = await conn.request(InitProducerId, 4, { transactionalId: id, transactionTimeoutMs: 60_000 })
        assert.equal(r.errorCode, nodeId === found.nodeId ? 0 : E.NOT_COORDINATOR)
      }
    }
    assert.ok(placed.size > 1, 'transactional ids land on more than one node')
  })

  it('describes and lists transactions, and the producers of a partition', async () => {
    broker.createTopic('admin-txn', { partitions: 2 })
    const p = new WireProducer(wire, 'admin-txn')
    await p.init()
    await p.addPartitions([
      { topic: 'admin-txn', partition: 0 },
      { topic: 'admin-txn', partition: 1 },
    ])
    const { baseOffset } = await p.produce('admin-txn', 1, ['a', 'b'])
    clock.advance(5_000)
    const coordinator = await wire.coordinator('admin-txn', 1)
    const described = await coordinator.request(DescribeTransactions, 0, { transactionalIds: ['admin-txn'] })
    const [state] = described.transactionStates
    const unknown = (await (await wire.coordinator('no-such-txn', 1)).request(DescribeTransactions, 0, { transactionalIds: ['no-such-txn'] })).transactionStates[0]
    assert.equal(state!.errorCode, 0)
    assert.equal(state!.transactionState, 'Ongoing')
    assert.equal(state!.producerId, p.producerId)
    assert.deepEqual(state!.topics, [{ topic: 'admin-txn', partitions: [0, 1] }])
    assert.equal(unknown!.errorCode, E.TRANSACTIONAL_ID_NOT_FOUND)

    const listAll = async (body: { stateFilters: string[]; producerIdFilters: bigint[]; durationFilter?: bigint }) =>
      (await Promise.all(wire.conns.map((c) => c.request(ListTransactions, 1, body)))).flatMap((r) => r.transactionStates.map((t) => t.transactionalId))
    assert.ok((await listAll({ stateFilters: ['Ongoing'], producerIdFilters: [] })).includes('admin-txn'))
    assert.ok(!(await listAll({ stateFilters: ['CompleteCommit'], producerIdFilters: [] })).includes('admin-txn'))
    assert.deepEqual(await listAll({ stateFilters: [], producerIdFilters: [p.producerId] }), ['admin-txn'])
    assert.ok((await listAll({ stateFilters: [], producerIdFilters: [], durationFilter: 4_000n })).includes('admin-txn'))
    assert.ok(!(await listAll({ stateFilters: [], producerIdFilters: [], durationFilter: 60_000n })).includes('admin-txn'))
    const odd = await wire.conns[0]!.request(ListTransactions, 1, { stateFilters: ['Sleeping'], producerIdFilters: [] })
    assert.deepEqual(odd.unknownStateFilters, ['Sleeping'])

    const producers = await wire.leader('admin-txn', 1).request(DescribeProducers, 0, { topics: [{ name: 'admin-txn', partitionIndexes: [1] }] })
    const active = producers.topics[0]!.partitions[0]!
    assert.equal(active.errorCode, 0)
    assert.equal(active.activeProducers.length, 1)
    assert.equal(active.activeProducers[0]!.producerId, p.producerId)
    assert.equal(active.activeProducers[0]!.lastSequence, 1)
    assert.equal(active.activeProducers[0]!.currentTxnStartOffset, baseOffset)
    assert.equal(await p.end(true), 0)
    const ended = await coordinator.request(DescribeTransactions, 0, { transactionalIds: ['admin-txn'] })
    assert.equal(ended.transactionStates[0]!.transactionState, 'CompleteCommit')
  })

  it('held markers: EndTxn is answered, the transaction stays PrepareCommit with CONCURRENT_TRANSACTIONS, the LSO waits', async () => {
    broker.createTopic('held', { partitions: 1 })
    const p = new WireProducer(wire, 'held')
    await p.init()
    await p.addPartitions([{ topic: 'held', partition: 0 }])
    await p.produce('held', 0, ['held-value'])
    broker.faults.delayTransactionMarkers(1_000)
    assert.equal(await p.end(true), 0)
    assert.deepEqual(await p.addPartitions([{ topic: 'held', partition: 0 }]), [E.CONCURRENT_TRANSACTIONS])
    const coordinator = await wire.coordinator('held', 1)
    const init = await coordinator.request(InitProducerId, 4, { transactionalId: 'held', transactionTimeoutMs: 60_000 })
    assert.equal(init.errorCode, E.CONCURRENT_TRANSACTIONS)
    const state = await coordinator.request(DescribeTransactions, 0, { transactionalIds: ['held'] })
    assert.equal(state.transactionStates[0]!.transactionState, 'PrepareCommit')
    assert.equal(await latestOffset(broker, 'held', 0, 'read_committed'), 0n)
    clock.advance(1_000)
    assert.equal(await latestOffset(broker, 'held', 0, 'read_committed'), 2n)
    assert.deepEqual(await readValues(broker, 'held', 0, 'read_committed'), ['held-value'])
    assert.equal(await p.init(), 0)
  })

  it('a lost coordinator: the old node answers NOT_COORDINATOR and FindCoordinator names the new one', async () => {
    const p = new WireProducer(wire, 'moving')
    await p.init()
    const before = await wire.conns[0]!.request(FindCoordinator, 3, { key: 'moving', keyType: 1 })
    const target = (before.nodeId + 1) % 3
    broker.faults.moveTransactionCoordinator('moving', target)
    const old = await wire.conns[before.nodeId]!.request(EndTxn, 3, { transactionalId: 'moving', producerId: p.producerId, producerEpoch: p.producerEpoch, committed: true })
    assert.equal(old.errorCode, E.NOT_COORDINATOR)
    const after = await wire.conns[0]!.request(FindCoordinator, 3, { key: 'moving', keyType: 1 })
    assert.equal(after.nodeId, target)
    assert.equal(await p.end(true), E.INVALID_TXN_STATE, 'the new coordinator has the same state: nothing was added')
  })

  it('fails the next EndTxn with a chosen error, and the retry goes through', async () => {
    broker.createTopic('fail-next', { partitions: 1 })
    const p = new WireProducer(wire, 'fail-next')
    await p.init()
    await p.addPartitions([{ topic: 'fail-next', partition: 0 }])
    await p.produce('fail-next', 0, ['v'])
    broker.faults.failNext(EndTxn, E.COORDINATOR_LOAD_IN_PROGRESS)
    assert.equal(await p.end(true), E.COORDINATOR_LOAD_IN_PROGRESS)
    assert.equal(await latestOffset(broker, 'fail-next', 0, 'read_committed'), 0n)
    assert.equal(await p.end(true), 0)
    assert.deepEqual(await readValues(broker, 'fail-next', 0, 'read_committed'), ['v'])
  })
})
