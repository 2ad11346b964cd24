/**
 * The consumer's fetch sessions (KIP-227) and divergence handling (KIP-320): what an incremental
 * request carries, the fallback to full requests on session errors and eviction, and a log
 * truncated under a consumer on the embedded broker.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { Consumer, type ConsumerConfig } from '../../src/client/consumer/consumer.js'
import { FetchSessionHandler, type SessionPartition } from '../../src/client/consumer/fetch-session.js'
import { LogTruncationError } from '../../src/client/errors.js'
import type { BrokerOptions } from '../../src/broker/index.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { Fetch } from '../../src/protocol/generated/index.js'
import { encodeRecordBatch } from '../../src/protocol/records/index.js'
import { EmbeddedCluster, until } from './helpers/embedded-cluster.js'
import { take } from './helpers/take.js'

const clusters: EmbeddedCluster[] = []
const consumers: Consumer[] = []

async function setup(partitions: number, config: Partial<ConsumerConfig> = {}, options: BrokerOptions = {}) {
  const cluster = await EmbeddedCluster.start(1, options)
  clusters.push(cluster)
  cluster.broker.createTopic('t', { partitions, replicationFactor: 1 })
  return { cluster, consumer: consumerOf(cluster, config) }
}

function consumerOf(cluster: EmbeddedCluster, config: Partial<ConsumerConfig> = {}): Consumer {
  const consumer = new Consumer({ bootstrapServers: cluster.bootstrap, fetchMaxWaitMs: 50, retryBackoffMs: 5, retryBackoffMaxMs: 20, autoOffsetReset: 'earliest', ...config })
  consumers.push(consumer)
  return consumer
}

async function produce(cluster: EmbeddedCluster, partition: number, values: string[]): Promise<void> {
  await cluster.append('t', partition, encodeRecordBatch({ records: values.map((value) => ({ value, timestamp: 1_700_000_000_000 })) }))
}

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.close()))
  await Promise.all(clusters.splice(0).map((c) => c.close()))
})

function partitionAt(partition: number, fetchOffset: bigint): { topic: string; data: SessionPartition } {
  return { topic: 't', data: { partition, fetchOffset, partitionMaxBytes: 100, currentLeaderEpoch: 0, lastFetchedEpoch: -1 } }
}

describe('FetchSessionHandler', () => {
  it('sends a full request first, then only changed and added partitions, forgetting the rest', () => {
    const handler = new FetchSessionHandler()
    const first = handler.build([partitionAt(0, 0n), partitionAt(1, 0n), partitionAt(2, 0n)], 12)
    assert.deepEqual([first.sessionId, first.sessionEpoch, first.full], [0, 0, true])
    assert.equal(first.topics[0]?.partitions.length, 3)
    handler.accepted(first, 77)
    const second = handler.build([partitionAt(0, 5n), partitionAt(1, 0n), partitionAt(3, 0n)], 12)
    assert.deepEqual([second.sessionId, second.sessionEpoch, second.full], [77, 1, false])
    assert.deepEqual(second.topics[0]?.partitions.map((p) => [p.partition, p.fetchOffset]), [[0, 5n], [3, 0n]])
    assert.deepEqual(second.forgotten, [{ topic: 't', partitions: [2] }])
    handler.accepted(second, 77)
    const third = handler.build([partitionAt(0, 5n), partitionAt(1, 0n), partitionAt(3, 0n)], 12)
    assert.deepEqual([third.sessionEpoch, third.topics, third.forgotten], [2, [], []])
  })

  it('falls back to a full request: a new session after FETCH_SESSION_ID_NOT_FOUND, the old one closed otherwise', () => {
    const handler = new FetchSessionHandler()
    handler.accepted(handler.build([partitionAt(0, 0n)], 12), 9)
    handler.failed(KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH)
    const afterEpochError = handler.build([partitionAt(0, 0n)], 12)
    assert.deepEqual([afterEpochError.sessionId, afterEpochError.sessionEpoch, afterEpochError.full], [9, 0, true])
    handler.accepted(afterEpochError, 10)
    handler.failed()
    assert.deepEqual([handler.build([partitionAt(0, 0n)], 12).sessionId, handler.build([partitionAt(0, 0n)], 12).sessionEpoch], [10, 0])
    handler.failed(KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND)
    const afterUnknown = handler.build([partitionAt(0, 0n)], 12)
    assert.deepEqual([afterUnknown.sessionId, afterUnknown.sessionEpoch], [0, 0])
    // No session offered (a full cache): full requests, each asking again.
    handler.accepted(afterUnknown, 0)
    assert.equal(handler.build([partitionAt(0, 0n)], 12).full, true)
    // Versions before 7 have no sessions.
    const old = handler.build([partitionAt(0, 0n)], 6)
    assert.deepEqual([old.sessionId, old.sessionEpoch], [0, -1])
  })
})

describe('Consumer fetch sessions', () => {
  it('fetches 300 partitions with incremental requests far smaller than the full one', async () => {
    const { cluster, consumer } = await setup(300)
    for (let p = 0; p < 300; p++) await produce(cluster, p, [`${p}-a`])
    await consumer.assign(Array.from({ length: 300 }, (_, partition) => ({ topic: 't', partition, offset: 'earliest' as const })))
    await take(consumer, 300)
    await produce(cluster, 7, ['7-b'])
    const [late] = await take(consumer, 1)
    assert.equal(late?.value?.toString(), '7-b')
    // The requests after the one that delivered 7-b name partition 7 at most.
    const delivered = cluster.requests(Fetch).length
    await until(() => cluster.requests(Fetch).length >= delivered + 2, 'two more fetches')
    const sizes = cluster.requests(Fetch).map((r) => r.bytes)
    assert.ok(sizes[0]! > 3000, `the first, full request names every partition (${sizes[0]} bytes)`)
    const last = sizes.slice(delivered)
    assert.ok(last.every((bytes) => bytes < 200), `later requests name only what changed: ${last.join(', ')} bytes`)
  })

  it('delivers every record once, in order, across session errors and evictions', async () => {
    const { cluster, consumer } = await setup(4, { maxPartitionFetchBytes: 200 }, { fetchSessions: { cacheSlots: 1, evictionMs: 0 } })
    // A second consumer on the same node takes the one slot from the first, again and again.
    const rival = consumerOf(cluster, { maxPartitionFetchBytes: 200 })
    const values = (p: number): string[] => Array.from({ length: 60 }, (_, i) => `${p}-${i}`)
    for (let p = 0; p < 4; p++) for (let i = 0; i < 60; i += 6) await produce(cluster, p, values(p).slice(i, i + 6))
    const all = [0, 1, 2, 3].map((partition) => ({ topic: 't', partition, offset: 'earliest' as const }))
    await consumer.assign(all)
    await rival.assign(all)
    cluster.broker.faults.failNext(Fetch, KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND, { count: 3 })
    const got = await take(consumer, 120)
    cluster.broker.faults.failNext(Fetch, KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH, { count: 3 })
    got.push(...(await take(consumer, 120)))
    const rivals = await take(rival, 240)
    for (const records of [got, rivals]) {
      for (let p = 0; p < 4; p++) {
        assert.deepEqual(records.filter((r) => r.partition === p).map((r) => r.value?.toString()), values(p))
      }
    }
  })
})

describe('Consumer log divergence (KIP-320)', () => {
  it('moves back to where a truncated log diverged and reads what it now holds', async () => {
    const { cluster, consumer } = await setup(1)
    await produce(cluster, 0, ['a0', 'a1', 'a2'])
    await produce(cluster, 0, ['a3', 'a4'])
    await consumer.assign([{ topic: 't', partition: 0, offset: 'earliest' }])
    assert.deepEqual((await take(consumer, 5)).map((r) => r.value?.toString()), ['a0', 'a1', 'a2', 'a3', 'a4'])
    // An unclean election: the new leader has only the first batch, then takes new writes.
    cluster.broker.faults.truncateLog('t', 0, 3)
    await produce(cluster, 0, ['b3', 'b4', 'b5'])
    const after = await take(consumer, 3)
    assert.deepEqual(after.map((r) => [r.offset, r.value?.toString()]), [[3n, 'b3'], [4n, 'b4'], [5n, 'b5']])
    assert.ok(cluster.requests(Fetch).every((r) => r.apiVersion === 12), 'lastFetchedEpoch needs Fetch v12')
  })

  it('reports LogTruncationError with the divergence offset when autoOffsetReset is none', async () => {
    const { cluster, consumer } = await setup(1, { autoOffsetReset: 'none' })
    await produce(cluster, 0, ['a0', 'a1', 'a2'])
    await produce(cluster, 0, ['a3', 'a4'])
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    await take(consumer, 5)
    cluster.broker.faults.truncateLog('t', 0, 3)
    await produce(cluster, 0, ['b3', 'b4', 'b5', 'b6'])
    const error = await take(consumer, 1).then(
      () => assert.fail('expected LogTruncationError'),
      (e: unknown) => e,
    )
    assert.ok(error instanceof LogTruncationError, String(error))
    assert.equal(error.truncatedAt, 3n)
    assert.equal(error.fetchOffset, 5n)
    consumer.seek({ topic: 't', partition: 0 }, error.truncatedAt)
    assert.deepEqual((await take(consumer, 4)).map((r) => r.value?.toString()), ['b3', 'b4', 'b5', 'b6'])
  })
})
