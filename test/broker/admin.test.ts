/**
 * The admin and lookup APIs: DescribeConfigs, CreatePartitions, DeleteRecords, DeleteTopics,
 * DescribeCluster, ListOffsets by timestamp and max timestamp, LogAppendTime, and Fetch by topic id.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import {
  CreatePartitions,
  CreateTopics,
  DeleteRecords,
  DeleteTopics,
  DescribeCluster,
  DescribeConfigs,
  Fetch,
  ListOffsets,
  Metadata,
  Produce,
} from '../../src/protocol/generated/index.js'
import { decodeRecordBatches, encodeRecordBatch } from '../../src/protocol/records/index.js'
import { TestConnection } from './helpers/connection.js'
import { batchOf, valuesIn } from './helpers/records.js'

describe('admin and lookups', () => {
  let broker: EmbeddedBroker
  let conn: TestConnection

  before(async () => {
    broker = await startBroker({ nodes: 1, autoCreateTopics: false })
    conn = await TestConnection.open(broker.bootstrap[0]!)
  })
  after(async () => {
    await conn.close()
    await broker.stop()
  })

  async function produce(topic: string, batch: Buffer, partition = 0): Promise<{ errorCode: number; baseOffset: bigint; logAppendTimeMs: bigint }> {
    const response = await conn.request(Produce, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] })
    return response.responses[0]!.partitionResponses[0]!
  }

  it('validates topic configs and reports them through DescribeConfigs', async () => {
    const created = await conn.request(CreateTopics, 5, {
      topics: [
        { name: 'cfg', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '1000' }] },
        { name: 'bad-cfg', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'no.such.config', value: '1' }] },
        { name: 'bad-rf', numPartitions: 1, replicationFactor: 2, assignments: [], configs: [] },
        { name: 'huge', numPartitions: 1_000_000, replicationFactor: 1, assignments: [], configs: [] },
      ],
      timeoutMs: 1000,
    })
    assert.deepEqual(
      created.topics.map((t) => t.errorCode),
      [0, KafkaErrorCode.INVALID_CONFIG, KafkaErrorCode.INVALID_REPLICATION_FACTOR, KafkaErrorCode.INVALID_PARTITIONS],
    )
    const described = await conn.request(DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: 'cfg', configurationKeys: ['retention.ms', 'segment.bytes'] }] })
    const configs = described.results[0]!.configs
    assert.deepEqual(
      configs.map((c) => [c.name, c.value, c.configSource]),
      [
        ['retention.ms', '1000', 1],
        ['segment.bytes', '1073741824', 5],
      ],
    )
    const brokerConfigs = await conn.request(DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: '0', configurationKeys: null }] })
    assert.equal(brokerConfigs.results[0]?.errorCode, 0)
    assert.ok(brokerConfigs.results[0]?.configs.some((c) => c.name === 'broker.id' && c.value === '0'))
  })

  it('grows a topic with CreatePartitions and refuses to shrink it', async () => {
    broker.createTopic('grow', { partitions: 2 })
    const grown = await conn.request(CreatePartitions, 3, { topics: [{ name: 'grow', count: 5 }], timeoutMs: 1000, validateOnly: false })
    assert.equal(grown.results[0]?.errorCode, 0)
    const shrink = await conn.request(CreatePartitions, 3, { topics: [{ name: 'grow', count: 3 }], timeoutMs: 1000, validateOnly: false })
    assert.equal(shrink.results[0]?.errorCode, KafkaErrorCode.INVALID_PARTITIONS)
    const metadata = await conn.request(Metadata, 12, { topics: [{ name: 'grow' }] })
    assert.equal(metadata.topics[0]?.partitions.length, 5)
  })

  it('moves the log start offset with DeleteRecords', async () => {
    broker.createTopic('trim')
    await produce('trim', batchOf(['a', 'b', 'c', 'd']))
    const deleted = await conn.request(DeleteRecords, 2, { topics: [{ name: 'trim', partitions: [{ partitionIndex: 0, offset: 2n }] }], timeoutMs: 1000 })
    assert.equal(deleted.topics[0]?.partitions[0]?.lowWatermark, 2n)
    const earliest = await conn.request(ListOffsets, 7, { replicaId: -1, topics: [{ name: 'trim', partitions: [{ partitionIndex: 0, timestamp: -2n }] }] })
    assert.equal(earliest.topics[0]?.partitions[0]?.offset, 2n)
    const beyond = await conn.request(DeleteRecords, 2, { topics: [{ name: 'trim', partitions: [{ partitionIndex: 0, offset: 99n }] }], timeoutMs: 1000 })
    assert.equal(beyond.topics[0]?.partitions[0]?.errorCode, KafkaErrorCode.OFFSET_OUT_OF_RANGE)
  })

  it('finds offsets by timestamp and the max timestamp (KIP-734)', async () => {
    broker.createTopic('times')
    const records = (values: [string, number][]): Buffer => encodeRecordBatch({ records: values.map(([value, timestamp]) => ({ value, timestamp })) })
    await produce('times', records([['t100', 100], ['t300', 300]]))
    await produce('times', records([['t200', 200], ['t500', 500], ['t400', 400]]))
    const lookup = await conn.request(ListOffsets, 8, {
      replicaId: -1,
      topics: [
        {
          name: 'times',
          partitions: [
            { partitionIndex: 0, timestamp: 250n },
            { partitionIndex: 0, timestamp: 450n },
            { partitionIndex: 0, timestamp: 999n },
            { partitionIndex: 0, timestamp: -3n },
          ],
        },
      ],
    })
    assert.deepEqual(
      lookup.topics[0]!.partitions.map((p) => [p.offset, p.timestamp]),
      [
        [1n, 300n],
        [3n, 500n],
        [-1n, -1n],
        [3n, 500n],
      ],
    )
  })

  it('stamps LogAppendTime topics with the broker clock', async () => {
    broker.createTopic('appended', { configs: { 'message.timestamp.type': 'LogAppendTime' } })
    const before = Date.now()
    const produced = await produce('appended', encodeRecordBatch({ records: [{ value: 'x', timestamp: 5 }] }))
    assert.ok(Number(produced.logAppendTimeMs) >= before)
    const fetched = await conn.request(Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{ topic: 'appended', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    })
    const batch = decodeRecordBatches(fetched.responses[0]!.partitions[0]!.records!).batches[0]!
    assert.equal(batch.timestampType, 'log-append-time')
    assert.equal(batch.records[0]?.timestamp, Number(produced.logAppendTimeMs))
  })

  it('fetches by topic id from v13 and answers UNKNOWN_TOPIC_ID for an unknown one', async () => {
    const { id } = broker.createTopic('by-id')
    await produce('by-id', batchOf(['hello']))
    const fetched = await conn.request(Fetch, 13, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [
        { topicId: id, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] },
        { topicId: 'AAAAAAAAAAAAAAAAAAAAAQ', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] },
      ],
    })
    assert.deepEqual(
      valuesIn(fetched.responses[0]!.partitions[0]!.records).map((r) => r.value),
      ['hello'],
    )
    assert.equal(fetched.responses[1]?.partitions[0]?.errorCode, KafkaErrorCode.UNKNOWN_TOPIC_ID)
  })

  it('opens a fetch session on request, and answers FETCH_SESSION_ID_NOT_FOUND for an unknown one', async () => {
    broker.createTopic('sessions')
    const full = await conn.request(Fetch, 12, { maxWaitMs: 0, minBytes: 0, maxBytes: 1024, sessionId: 0, sessionEpoch: 0, topics: [] })
    assert.notEqual(full.sessionId, 0)
    const sessionless = await conn.request(Fetch, 12, { maxWaitMs: 0, minBytes: 0, maxBytes: 1024, sessionId: 0, sessionEpoch: -1, topics: [] })
    assert.equal(sessionless.sessionId, 0)
    const named = await conn.request(Fetch, 12, { maxWaitMs: 0, minBytes: 0, maxBytes: 1024, sessionId: 1234, sessionEpoch: 1, topics: [] })
    assert.equal(named.errorCode, KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND)
  })

  it('deletes topics by name and reports the cluster', async () => {
    broker.createTopic('doomed')
    const deleted = await conn.request(DeleteTopics, 5, { topicNames: ['doomed', 'never-was'], timeoutMs: 1000 })
    assert.deepEqual(
      deleted.responses.map((r) => r.errorCode),
      [0, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    )
    assert.equal(broker.topic('doomed'), undefined)
    const cluster = await conn.request(DescribeCluster, 1, { includeClusterAuthorizedOperations: false })
    assert.equal(cluster.clusterId, broker.clusterId)
    assert.deepEqual(
      cluster.brokers.map((b) => b.port),
      [broker.nodes[0]!.port],
    )
  })
})
