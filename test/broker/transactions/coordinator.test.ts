/**
 * The transaction coordinator at the wire level, against Kafka's observable behaviour: producer id
 * and epoch handling (KIP-98, KIP-360), fencing, the transaction timeout, transactional offsets
 * with KIP-447's group checks, and the refusals a client can run into. Every refusal must lose
 * nothing: what was committed stays visible and the producer can go on where Kafka lets it.
 */
import assert from 'node:assert/strict'
import { after, afterEach, before, beforeEach, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { ManualScheduler } from '../../../src/broker/groups/scheduler.js'
import { KafkaErrorCode as E } from '../../../src/protocol/errors/kafka-errors.js'
import { AddPartitionsToTxn, EndTxn, InitProducerId, JoinGroup, ListOffsets, OffsetFetch, SyncGroup } from '../../../src/protocol/generated/index.js'
import type { TestConnection } from '../helpers/connection.js'
import { latestOffset, readValues } from './helpers.js'
import { Wire, WireProducer } from './wire.js'

async function joinAlone(conn: TestConnection, groupId: string): Promise<{ memberId: string; generationId: number }> {
  const join = async (memberId: string) =>
    conn.request(JoinGroup, 5, {
      groupId,
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 30_000,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    })
  let joined = await join('')
  if (joined.errorCode === E.MEMBER_ID_REQUIRED) joined = await join(joined.memberId)
  assert.equal(joined.errorCode, 0)
  const synced = await conn.request(SyncGroup, 3, {
    groupId,
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: null,
    assignments: [{ memberId: joined.memberId, assignment: Buffer.alloc(0) }],
  })
  assert.equal(synced.errorCode, 0)
  return { memberId: joined.memberId, generationId: joined.generationId }
}

async function committedOffset(conn: TestConnection, groupId: string, topic: string, requireStable = false): Promise<{ offset: bigint; errorCode: number }> {
  const r = await conn.request(OffsetFetch, 7, { groupId, topics: [{ name: topic, partitionIndexes: [0] }], requireStable })
  const p = r.topics[0]!.partitions[0]!
  return { offset: p.committedOffset, errorCode: p.errorCode }
}

describe('transaction coordinator', () => {
  let broker: EmbeddedBroker
  let wire: Wire
  let clock: ManualScheduler

  before(async () => {
    clock = new ManualScheduler(Date.now())
    broker = await startBroker({ transactions: { scheduler: clock } })
  })
  after(() => broker.stop())
  beforeEach(async () => {
    wire = await Wire.open(broker)
  })
  afterEach(() => wire.close())

  it('gives a transactional id a producer id at epoch 0, and bumps the epoch on every InitProducerId', async () => {
    const p = new WireProducer(wire, 'init-bump')
    assert.equal(await p.init(), 0)
    assert.equal(p.producerEpoch, 0)
    const first = p.producerId
    assert.equal(await p.init(), 0)
    assert.equal(p.producerId, first)
    assert.equal(p.producerEpoch, 1)
  })

  it('KIP-360: bumps the epoch a recovering producer holds, answers its retry the same, and fences a stale one', async () => {
    const p = new WireProducer(wire, 'kip360')
    await p.init()
    const conn = await wire.coordinator('kip360', 1)
    const ask = (producerEpoch: number, version = 4) =>
      conn.request(InitProducerId, version, { transactionalId: 'kip360', transactionTimeoutMs: 60_000, producerId: p.producerId, producerEpoch })
    const bumped = await ask(0)
    assert.deepEqual([bumped.errorCode, bumped.producerId, bumped.producerEpoch], [0, p.producerId, 1])
    const retried = await ask(0)
    assert.deepEqual([retried.errorCode, retried.producerEpoch], [0, 1], 'a retry of the bump gets the same epoch')
    assert.equal((await ask(5)).errorCode, E.PRODUCER_FENCED)
    assert.equal((await ask(5, 3)).errorCode, E.INVALID_PRODUCER_EPOCH, 'v3 cannot carry PRODUCER_FENCED')
  })

  it('refuses a transaction timeout above transaction.max.timeout.ms', async () => {
    const conn = await wire.coordinator('too-long', 1)
    const r = await conn.request(InitProducerId, 4, { transactionalId: 'too-long', transactionTimeoutMs: 900_001 })
    assert.equal(r.errorCode, E.INVALID_TRANSACTION_TIMEOUT)
  })

  it('EndTxn without AddPartitionsToTxn is INVALID_TXN_STATE and loses nothing', async () => {
    broker.createTopic('bad-end')
    const p = new WireProducer(wire, 'bad-end')
    await p.init()
    assert.deepEqual(await p.addPartitions([{ topic: 'bad-end', partition: 0 }]), [0])
    assert.equal((await p.produce('bad-end', 0, ['kept'])).errorCode, 0)
    assert.equal(await p.end(true), 0)
    assert.equal(await p.end(true), 0, 'a retried commit is answered as the first')
    assert.equal(await p.end(false), E.INVALID_TXN_STATE, 'an abort after the commit is refused')
    await p.init()
    assert.equal(await p.end(true), E.INVALID_TXN_STATE)
    assert.equal(await p.end(false), E.INVALID_TXN_STATE)
    assert.deepEqual(await readValues(broker, 'bad-end', 0, 'read_committed'), ['kept'])
    assert.deepEqual(await p.addPartitions([{ topic: 'bad-end', partition: 0 }]), [0])
    assert.equal((await p.produce('bad-end', 0, ['after'])).errorCode, 0)
    assert.equal(await p.end(true), 0)
    assert.deepEqual(await readValues(broker, 'bad-end', 0, 'read_committed'), ['kept', 'after'])
  })

  it('refuses transactional produce to a partition not added, and AddPartitionsToTxn for an unknown topic', async () => {
    broker.createTopic('not-added')
    const p = new WireProducer(wire, 'not-added')
    await p.init()
    assert.equal((await p.produce('not-added', 0, ['x'])).errorCode, E.INVALID_TXN_STATE)
    const errors = await p.addPartitions([
      { topic: 'not-added', partition: 0 },
      { topic: 'no-such-topic', partition: 0 },
    ])
    assert.deepEqual(errors, [E.OPERATION_NOT_ATTEMPTED, E.UNKNOWN_TOPIC_OR_PARTITION])
    assert.equal(broker.offsets('not-added', 0).logEndOffset, 0)
  })

  it('a second InitProducerId aborts the open transaction, fences the old epoch and answers CONCURRENT_TRANSACTIONS first', async () => {
    broker.createTopic('fence')
    const zombie = new WireProducer(wire, 'fence')
    await zombie.init()
    await zombie.addPartitions([{ topic: 'fence', partition: 0 }])
    assert.equal((await zombie.produce('fence', 0, ['zombie'])).errorCode, 0)
    const conn = await wire.coordinator('fence', 1)
    const first = await conn.request(InitProducerId, 4, { transactionalId: 'fence', transactionTimeoutMs: 60_000 })
    assert.equal(first.errorCode, E.CONCURRENT_TRANSACTIONS)
    const successor = new WireProducer(wire, 'fence')
    assert.equal(await successor.init(), 0)
    assert.equal(successor.producerEpoch, zombie.producerEpoch + 2, 'one bump to fence, one for the new producer')
    assert.equal((await zombie.produce('fence', 0, ['late'])).errorCode, E.INVALID_PRODUCER_EPOCH)
    assert.equal(await zombie.end(true), E.PRODUCER_FENCED)
    assert.equal(await zombie.end(true, 1), E.INVALID_PRODUCER_EPOCH, 'EndTxn v1 cannot carry PRODUCER_FENCED')
    assert.deepEqual(await readValues(broker, 'fence', 0, 'read_committed'), [])
    assert.equal(await latestOffset(broker, 'fence', 0, 'read_committed'), 2n, 'the abort marker moved the LSO past the zombie')
  })

  it('aborts a transaction open longer than its timeout and fences the epoch: a commit after it is PRODUCER_FENCED', async () => {
    broker.createTopic('timeout')
    const p = new WireProducer(wire, 'timeout', 10_000)
    await p.init()
    await p.addPartitions([{ topic: 'timeout', partition: 0 }])
    assert.equal((await p.produce('timeout', 0, ['slow'])).errorCode, 0)
    assert.equal(await latestOffset(broker, 'timeout', 0, 'read_committed'), 0n, 'the open transaction holds the LSO')
    clock.advance(9_999)
    assert.equal(await latestOffset(broker, 'timeout', 0, 'read_committed'), 0n)
    clock.advance(1)
    assert.equal(await p.end(true), E.PRODUCER_FENCED)
    assert.equal((await p.produce('timeout', 0, ['later'])).errorCode, E.INVALID_PRODUCER_EPOCH)
    assert.deepEqual(await readValues(broker, 'timeout', 0, 'read_committed'), [])
    assert.equal(await latestOffset(broker, 'timeout', 0, 'read_committed'), 2n)
    assert.equal(await p.init(), 0, 'a new InitProducerId recovers the transactional id')
    await p.addPartitions([{ topic: 'timeout', partition: 0 }])
    assert.equal((await p.produce('timeout', 0, ['fresh'])).errorCode, 0)
    assert.equal(await p.end(true), 0)
    assert.deepEqual(await readValues(broker, 'timeout', 0, 'read_committed'), ['fresh'])
  })

  it('holds TxnOffsetCommit offsets until the commit, drops them on abort, and reports them unstable meanwhile', async () => {
    broker.createTopic('offsets-in')
    const groupId = 'txn-offsets'
    const p = new WireProducer(wire, 'offsets')
    await p.init()
    const group = await wire.coordinator(groupId, 0)
    assert.equal(await p.addOffsets(groupId), 0)
    assert.deepEqual(await p.commitOffsets(groupId, [{ topic: 'offsets-in', partition: 0, offset: 7n }]), [0])
    assert.deepEqual(await committedOffset(group, groupId, 'offsets-in'), { offset: -1n, errorCode: 0 })
    assert.equal((await committedOffset(group, groupId, 'offsets-in', true)).errorCode, E.UNSTABLE_OFFSET_COMMIT)
    assert.equal(await p.end(true), 0)
    assert.deepEqual(await committedOffset(group, groupId, 'offsets-in', true), { offset: 7n, errorCode: 0 })
    assert.equal(await p.addOffsets(groupId), 0)
    assert.deepEqual(await p.commitOffsets(groupId, [{ topic: 'offsets-in', partition: 0, offset: 9n }]), [0])
    assert.equal(await p.end(false), 0)
    assert.deepEqual(await committedOffset(group, groupId, 'offsets-in', true), { offset: 7n, errorCode: 0 })
  })

  it('KIP-447: TxnOffsetCommit for a generation that moved on is ILLEGAL_GENERATION, an unknown member UNKNOWN_MEMBER_ID, and nothing is lost', async () => {
    broker.createTopic('gen-in')
    const groupId = 'txn-generation'
    const group = await wire.coordinator(groupId, 0)
    const member = await joinAlone(group, groupId)
    const p = new WireProducer(wire, 'generation')
    await p.init()
    assert.equal(await p.addOffsets(groupId), 0)
    assert.deepEqual(await p.commitOffsets(groupId, [{ topic: 'gen-in', partition: 0, offset: 3n }], member), [0])
    const stale = { memberId: member.memberId, generationId: member.generationId - 1 }
    assert.deepEqual(await p.commitOffsets(groupId, [{ topic: 'gen-in', partition: 0, offset: 99n }], stale), [E.ILLEGAL_GENERATION])
    assert.deepEqual(await p.commitOffsets(groupId, [{ topic: 'gen-in', partition: 0, offset: 99n }], { memberId: 'nobody', generationId: member.generationId }), [E.UNKNOWN_MEMBER_ID])
    assert.equal(await p.end(true), 0)
    assert.deepEqual(await committedOffset(group, groupId, 'gen-in'), { offset: 3n, errorCode: 0 }, 'the offset accepted before the refusals commits')
  })

  it('AddPartitionsToTxn v4+: batches transactions, each answered on its own, and verifyOnly adds nothing', async () => {
    broker.createTopic('batched', { partitions: 2 })
    const a = new WireProducer(wire, 'batched-a')
    const b = new WireProducer(wire, 'batched-b')
    await a.init()
    await b.init()
    const conn = wire.conns[0]!
    const request = (verifyOnly: boolean, version = 5) =>
      conn.request(AddPartitionsToTxn, version, {
        transactions: [
          { transactionalId: 'batched-a', producerId: a.producerId, producerEpoch: a.producerEpoch, verifyOnly, topics: [{ name: 'batched', partitions: [0] }] },
          { transactionalId: 'batched-b', producerId: b.producerId, producerEpoch: b.producerEpoch + 1, verifyOnly, topics: [{ name: 'batched', partitions: [1] }] },
        ],
      })
    const verified = await request(true)
    const codes = (r: typeof verified) => r.resultsByTransaction.map((t) => t.topicResults[0]!.resultsByPartition[0]!.partitionErrorCode)
    assert.deepEqual(codes(verified), [E.INVALID_TXN_STATE, E.PRODUCER_FENCED], 'nothing added yet; b sent a wrong epoch')
    const added = await request(false, 4)
    assert.deepEqual(codes(added), [0, E.PRODUCER_FENCED])
    assert.deepEqual(codes(await request(true)), [0, E.PRODUCER_FENCED])
    assert.equal((await a.produce('batched', 0, ['via v4'])).errorCode, 0)
    assert.equal(await a.end(true), 0)
    assert.deepEqual(await readValues(broker, 'batched', 0, 'read_committed'), ['via v4'])
  })

  it('AddPartitionsToTxn v0 and v1 answer a fenced epoch with INVALID_PRODUCER_EPOCH', async () => {
    broker.createTopic('old-add')
    const p = new WireProducer(wire, 'old-add')
    await p.init()
    await p.init()
    p.producerEpoch -= 1
    assert.deepEqual(await p.addPartitions([{ topic: 'old-add', partition: 0 }], 0), [E.INVALID_PRODUCER_EPOCH])
    assert.deepEqual(await p.addPartitions([{ topic: 'old-add', partition: 0 }], 2), [E.PRODUCER_FENCED])
  })

  it('ListOffsets by timestamp under read_committed finds nothing at or past the LSO', async () => {
    broker.createTopic('by-time')
    const p = new WireProducer(wire, 'by-time')
    await p.init()
    await p.addPartitions([{ topic: 'by-time', partition: 0 }])
    await p.produce('by-time', 0, ['pending'])
    const byTime = async (isolationLevel: number) =>
      (
        await wire.leader('by-time', 0).request(ListOffsets, 5, {
          replicaId: -1,
          isolationLevel,
          topics: [{ name: 'by-time', partitions: [{ partitionIndex: 0, timestamp: 0n }] }],
        })
      ).topics[0]!.partitions[0]!.offset
    assert.equal(await byTime(0), 0n)
    assert.equal(await byTime(1), -1n)
    assert.equal(await p.end(true), 0)
    assert.equal(await byTime(1), 0n)
  })

  it('refuses TxnOffsetCommit for a group not added to the transaction', async () => {
    broker.createTopic('no-add-in')
    const p = new WireProducer(wire, 'no-add-offsets')
    await p.init()
    assert.deepEqual(await p.commitOffsets('no-add-group', [{ topic: 'no-add-in', partition: 0, offset: 1n }]), [E.INVALID_TXN_STATE])
  })

  it('answers EndTxn for an unknown producer id with INVALID_PRODUCER_ID_MAPPING', async () => {
    const conn = await wire.coordinator('unknown-id', 1)
    const r = await conn.request(EndTxn, 3, { transactionalId: 'unknown-id', producerId: 77n, producerEpoch: 0, committed: true })
    assert.equal(r.errorCode, E.INVALID_PRODUCER_ID_MAPPING)
  })
})
