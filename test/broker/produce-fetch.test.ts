/**
 * The core data path over real sockets: ApiVersions, Metadata, CreateTopics, Produce, Fetch and
 * ListOffsets, spoken with baton's protocol layer.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { ApiVersions, CreateTopics, Fetch, ListOffsets, Metadata, Produce } from '../../src/protocol/generated/index.js'
import { TestConnection, within } from './helpers/connection.js'
import { batchOf, valuesIn } from './helpers/records.js'

describe('broker data path', () => {
  let broker: EmbeddedBroker
  let conn: TestConnection

  before(async () => {
    broker = await startBroker({ autoCreateTopics: false })
    conn = await TestConnection.open(broker.bootstrap[0]!)
  })
  after(async () => {
    await conn.close()
    await broker.stop()
  })

  it('advertises the APIs it serves, and answers a too-new ApiVersions in v0 (KIP-511)', async () => {
    const response = await conn.request(ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' })
    assert.equal(response.errorCode, 0)
    const produce = response.apiKeys.find((k) => k.apiKey === Produce.apiKey)
    assert.deepEqual(produce, { apiKey: 0, minVersion: 3, maxVersion: 11 })
    // The transaction APIs, each up to its newest stable version (EndTxn v5 is not stable yet).
    const transactional = [22, 24, 25, 26, 28, 61, 65, 66].map((apiKey) => response.apiKeys.find((k) => k.apiKey === apiKey))
    assert.deepEqual(transactional, [
      { apiKey: 22, minVersion: 0, maxVersion: 5 },
      { apiKey: 24, minVersion: 0, maxVersion: 5 },
      { apiKey: 25, minVersion: 0, maxVersion: 4 },
      { apiKey: 26, minVersion: 0, maxVersion: 4 },
      { apiKey: 28, minVersion: 0, maxVersion: 4 },
      { apiKey: 61, minVersion: 0, maxVersion: 0 },
      { apiKey: 65, minVersion: 0, maxVersion: 0 },
      { apiKey: 66, minVersion: 0, maxVersion: 1 },
    ])
  })

  it('creates a topic and reports it in Metadata with a leader and topic id', async () => {
    const created = await conn.request(CreateTopics, 7, { topics: [{ name: 'orders', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 })
    assert.equal(created.topics[0]?.errorCode, 0)
    assert.equal(created.topics[0]?.numPartitions, 3)
    const again = await conn.request(CreateTopics, 7, { topics: [{ name: 'orders', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000 })
    assert.equal(again.topics[0]?.errorCode, KafkaErrorCode.TOPIC_ALREADY_EXISTS)
    const metadata = await conn.request(Metadata, 12, { topics: [{ name: 'orders' }] })
    const topic = metadata.topics[0]!
    assert.equal(topic.errorCode, 0)
    assert.equal(topic.topicId, created.topics[0]?.topicId)
    assert.deepEqual(
      topic.partitions.map((p) => p.leaderId),
      [0, 0, 0],
    )
    assert.equal(metadata.brokers[0]?.port, broker.nodes[0]?.port)
  })

  it('refuses unknown topics when auto-creation is off', async () => {
    const metadata = await conn.request(Metadata, 12, { topics: [{ name: 'nope' }], allowAutoTopicCreation: true })
    assert.equal(metadata.topics[0]?.errorCode, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
  })

  it('assigns offsets per batch and fetches them back', async () => {
    broker.createTopic('path', { partitions: 1 })
    const first = await conn.request(Produce, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'path', partitionData: [{ index: 0, records: batchOf(['a', 'b', 'c']) }] }] })
    const second = await conn.request(Produce, 9, {
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 'path', partitionData: [{ index: 0, records: batchOf(['d', 'e'], { compression: 'gzip' }) }] }],
    })
    assert.equal(first.responses[0]?.partitionResponses[0]?.baseOffset, 0n)
    assert.equal(second.responses[0]?.partitionResponses[0]?.baseOffset, 3n)
    const fetched = await conn.request(Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{ topic: 'path', partitions: [{ partition: 0, fetchOffset: 1n, partitionMaxBytes: 1 << 20 }] }],
    })
    const p = fetched.responses[0]!.partitions[0]!
    assert.equal(p.errorCode, 0)
    assert.equal(p.highWatermark, 5n)
    assert.deepEqual(
      valuesIn(p.records).map((r) => [r.offset, r.value]),
      [
        [0n, 'a'],
        [1n, 'b'],
        [2n, 'c'],
        [3n, 'd'],
        [4n, 'e'],
      ],
    )
  })

  it('answers OFFSET_OUT_OF_RANGE past the end and reports earliest and latest offsets', async () => {
    broker.createTopic('range', { partitions: 1 })
    await conn.request(Produce, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'range', partitionData: [{ index: 0, records: batchOf(['x']) }] }] })
    const fetched = await conn.request(Fetch, 11, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1024,
      topics: [{ topic: 'range', partitions: [{ partition: 0, fetchOffset: 5n, partitionMaxBytes: 1024 }] }],
    })
    assert.equal(fetched.responses[0]?.partitions[0]?.errorCode, KafkaErrorCode.OFFSET_OUT_OF_RANGE)
    const offsets = await conn.request(ListOffsets, 7, {
      replicaId: -1,
      topics: [{ name: 'range', partitions: [{ partitionIndex: 0, timestamp: -1n }, { partitionIndex: 0, timestamp: -2n }] }],
    })
    assert.deepEqual(
      offsets.topics[0]?.partitions.map((p) => p.offset),
      [1n, 0n],
    )
  })

  it('wakes a long poll as soon as data arrives, not after maxWaitMs', async () => {
    broker.createTopic('poll', { partitions: 1 })
    const started = Date.now()
    const poll = conn.request(
      Fetch,
      12,
      { maxWaitMs: 20_000, minBytes: 1, maxBytes: 1 << 20, topics: [{ topic: 'poll', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }] },
      30_000,
    )
    const producer = await TestConnection.open(broker.bootstrap[0]!)
    try {
      await producer.request(Produce, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'poll', partitionData: [{ index: 0, records: batchOf(['wake']) }] }] })
      const fetched = await within(poll, 5000, 'long poll')
      assert.deepEqual(
        valuesIn(fetched.responses[0]!.partitions[0]!.records).map((r) => r.value),
        ['wake'],
      )
      assert.ok(Date.now() - started < 5000)
    } finally {
      await producer.close()
    }
  })
})
