/**
 * Fault injection and leadership: what lets tests reproduce what real clusters do at their worst.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { Kafka, logLevel, Partitioners } from 'kafkajs'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { Metadata, OffsetForLeaderEpoch, Produce } from '../../src/protocol/generated/index.js'
import { TestConnection, within } from './helpers/connection.js'
import { batchOf } from './helpers/records.js'

async function refused(hostPort: string): Promise<boolean> {
  const at = hostPort.lastIndexOf(':')
  return new Promise((resolve) => {
    const socket = connect({ host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) })
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', () => resolve(true))
  })
}

describe('faults and leadership', () => {
  let broker: EmbeddedBroker
  const conns: TestConnection[] = []

  async function open(node: number): Promise<TestConnection> {
    const conn = await TestConnection.open(broker.bootstrap[node]!)
    conns.push(conn)
    return conn
  }

  async function produce(conn: TestConnection, topic: string, partition = 0): Promise<number> {
    const response = await conn.request(Produce, 11, { acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batchOf(['v']) }] }] })
    return response.responses[0]!.partitionResponses[0]!.errorCode
  }

  before(async () => {
    broker = await startBroker({ nodes: 3 })
  })
  after(async () => {
    for (const conn of conns) await conn.close()
    await broker.stop()
  })

  it('spreads leaders over the nodes and answers NOT_LEADER_OR_FOLLOWER off the leader', async () => {
    const { leaders } = broker.createTopic('spread', { partitions: 6, replicationFactor: 3 })
    assert.deepEqual(new Set(leaders), new Set([0, 1, 2]))
    const leader = leaders[0]!
    const other = (leader + 1) % 3
    assert.equal(await produce(await open(leader), 'spread'), 0)
    assert.equal(await produce(await open(other), 'spread'), KafkaErrorCode.NOT_LEADER_OR_FOLLOWER)
  })

  it('moves leadership: the epoch grows, the old leader refuses, the new one accepts', async () => {
    const { leaders } = broker.createTopic('moving', { partitions: 1, replicationFactor: 2 })
    const from = leaders[0]!
    const to = (from + 1) % 3
    const before = await (await open(0)).request(Metadata, 12, { topics: [{ name: 'moving' }] })
    broker.faults.moveLeader('moving', 0, to)
    const afterMove = await (await open(0)).request(Metadata, 12, { topics: [{ name: 'moving' }] })
    const p0 = afterMove.topics[0]!.partitions[0]!
    assert.equal(p0.leaderId, to)
    assert.equal(p0.leaderEpoch, before.topics[0]!.partitions[0]!.leaderEpoch + 1)
    assert.equal(await produce(await open(from), 'moving'), KafkaErrorCode.NOT_LEADER_OR_FOLLOWER)
    assert.equal(await produce(await open(to), 'moving'), 0)
  })

  it('answers OffsetForLeaderEpoch from the epoch history after a move (KIP-320)', async () => {
    const { leaders } = broker.createTopic('epochs', { partitions: 1, replicationFactor: 3 })
    const first = leaders[0]!
    assert.equal(await produce(await open(first), 'epochs'), 0)
    assert.equal(await produce(await open(first), 'epochs'), 0)
    const second = (first + 1) % 3
    broker.faults.moveLeader('epochs', 0, second)
    const conn = await open(second)
    assert.equal(await produce(conn, 'epochs'), 0)
    const answer = await conn.request(OffsetForLeaderEpoch, 4, {
      replicaId: -1,
      topics: [{ topic: 'epochs', partitions: [0, 1, 7].map((leaderEpoch) => ({ partition: 0, currentLeaderEpoch: 1, leaderEpoch })) }],
    })
    assert.deepEqual(
      answer.topics[0]!.partitions.map((p) => [p.errorCode, p.leaderEpoch, p.endOffset]),
      [
        [0, 0, 2n],
        [0, 1, 3n],
        [0, -1, -1n],
      ],
    )
    const stale = await conn.request(OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic: 'epochs', partitions: [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] }] })
    assert.equal(stale.topics[0]?.partitions[0]?.errorCode, KafkaErrorCode.FENCED_LEADER_EPOCH)
  })

  it('KafkaJS follows a leadership move', async () => {
    broker.createTopic('follow', { partitions: 1, replicationFactor: 3 })
    const kafka = new Kafka({ brokers: broker.bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 20 } })
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    try {
      await producer.send({ topic: 'follow', messages: [{ value: 'before' }] })
      broker.faults.moveLeader('follow', 0, (broker.topic('follow')!.leaders[0]! + 1) % 3)
      await producer.send({ topic: 'follow', messages: [{ value: 'after' }] })
      assert.equal(broker.offsets('follow', 0).logEndOffset, 2)
    } finally {
      await producer.disconnect()
    }
  })

  it('answers the next N requests of an API with a chosen error, then serves normally', async () => {
    const { leaders } = broker.createTopic('flaky', { partitions: 1 })
    const conn = await open(leaders[0]!)
    broker.faults.failNext(Produce, KafkaErrorCode.NOT_ENOUGH_REPLICAS, { count: 2 })
    assert.equal(await produce(conn, 'flaky'), KafkaErrorCode.NOT_ENOUGH_REPLICAS)
    assert.equal(await produce(conn, 'flaky'), KafkaErrorCode.NOT_ENOUGH_REPLICAS)
    assert.equal(await produce(conn, 'flaky'), 0)
    assert.equal(broker.offsets('flaky', 0).logEndOffset, 1)
  })

  it('delays the responses of one API', async () => {
    const conn = await open(1)
    const remove = broker.faults.delay(Metadata, 150, { nodeId: 1 })
    const started = performance.now()
    await conn.request(Metadata, 12, { topics: [] })
    assert.ok(performance.now() - started >= 140, 'response held back')
    remove()
  })

  it('stops and resumes accepting on a node, keeping open connections', async () => {
    const open2 = await open(2)
    await broker.faults.stopAccepting(2)
    assert.equal(await refused(broker.bootstrap[2]!), true)
    await open2.request(Metadata, 12, { topics: [] })
    await broker.faults.resumeAccepting(2)
    assert.equal(await refused(broker.bootstrap[2]!), false)
  })

  it('drops every connection of a node', async () => {
    const victim = await open(1)
    const bystander = await open(0)
    broker.faults.dropConnections(1)
    await within(victim.closed, 5000, 'dropped connection closes')
    await bystander.request(Metadata, 12, { topics: [] })
  })
})
