/**
 * The producer against the embedded broker: batching, partitioning, idempotence and its epoch
 * bumps, retries and their limits, compression, back-pressure and shutdown. The broker's fault
 * controls script the failures (errors by API, held responses, dropped connections, moved leaders).
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { BufferFullError, ClientClosedError, ConfigError, DeliveryTimeoutError, InvalidRecordError } from '../../src/client/errors.js'
import { partitionForKey } from '../../src/client/producer/murmur2.js'
import { Producer, type ProducerConfig } from '../../src/client/producer/producer.js'
import { KafkaError, KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { InitProducerId, Produce } from '../../src/protocol/generated/index.js'
import type { CompressionCodec } from '../../src/protocol/records/index.js'
import { EmbeddedCluster, until } from './helpers/embedded-cluster.js'

const clusters: EmbeddedCluster[] = []
const producers: Producer[] = []

async function setup(nodes = 1, config: Partial<ProducerConfig> = {}) {
  const cluster = await EmbeddedCluster.start(nodes)
  clusters.push(cluster)
  // Partition p led by node p % nodes, as a fresh topic's leaders are spread.
  cluster.broker.createTopic('t', { partitions: 3, replicationFactor: 1 })
  const producer = new Producer({ bootstrapServers: cluster.bootstrap, retryBackoffMs: 5, retryBackoffMaxMs: 20, ...config })
  producers.push(producer)
  return { cluster, producer }
}

/** Values in the partition's log, in offset order. */
function logValues(cluster: EmbeddedCluster, topic: string, partition: number): Promise<string[]> {
  return cluster.values(topic, partition)
}

afterEach(async () => {
  await Promise.all(producers.splice(0).map((p) => p.close(1000)))
  await Promise.all(clusters.splice(0).map((c) => c.close()))
})

describe('Producer', () => {
  it('batches records per partition and resolves each with its offset', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 20 })
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => producer.send({ topic: 't', partition: 1, value: `v${i}` })))
    assert.deepEqual(
      results.map((r) => r.offset),
      Array.from({ length: 50 }, (_, i) => BigInt(i)),
    )
    assert.ok(results.every((r) => r.topic === 't' && r.partition === 1))
    assert.ok(cluster.requests(Produce).length < 10, `expected batching, saw ${cluster.requests(Produce).length} Produce requests`)
    assert.deepEqual(
      await logValues(cluster, 't', 1),
      results.map((_, i) => `v${i}`),
    )
  })

  it('sends keyed records to the murmur2 partition', async () => {
    const { producer } = await setup()
    for (const key of ['21', 'foobar', 'abc', 'k-99']) {
      const result = await producer.send({ topic: 't', key, value: 'x' })
      assert.equal(result.partition, partitionForKey(Buffer.from(key), 3))
    }
  })

  it('is idempotent: InitProducerId once, sequences per partition', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0 })
    await producer.send({ topic: 't', partition: 0, value: 'a' })
    await producer.send({ topic: 't', partition: 0, value: 'b' })
    assert.equal(cluster.requests(InitProducerId).length, 1)
    // The broker holds sequences 0 and 1 of one producer: the next it expects is 2.
    const batches = await cluster.batches('t', 0)
    assert.equal(new Set(batches.map((b) => b.producerId)).size, 1)
    assert.equal(batches.at(-1)!.baseSequence + batches.at(-1)!.records.length, 2)
  })

  it('retries after a leader move without duplicates or reordering', async () => {
    const { cluster, producer } = await setup(3, { lingerMs: 1 })
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send({ topic: 't', partition: 0, value: `a${i}` })))
    cluster.broker.faults.moveLeader('t', 0, 2)
    const second = await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send({ topic: 't', partition: 0, value: `b${i}` })))
    assert.deepEqual(await logValues(cluster, 't', 0), [...first.map((_, i) => `a${i}`), ...second.map((_, i) => `b${i}`)])
    assert.ok(cluster.requests(Produce).some((r) => cluster.sentTo(r, 2)))
    assert.deepEqual(
      second.map((r) => r.offset),
      Array.from({ length: 10 }, (_, i) => BigInt(10 + i)),
    )
  })

  it('writes once when the connection drops after the broker appended (duplicate sequence)', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0 })
    // The broker appends, then holds the response; the connection drops before it leaves, so the
    // producer cannot know the batch was written.
    cluster.broker.faults.delay(Produce, 60_000, { count: 1 })
    void until(() => cluster.broker.offsets('t', 0).logEndOffset === 1, 'the append').then(() => cluster.broker.faults.dropConnections(0))
    const result = await producer.send({ topic: 't', partition: 0, value: 'once' })
    assert.equal(result.offset, 0n)
    assert.deepEqual(await logValues(cluster, 't', 0), ['once'])
    assert.equal(cluster.requests(Produce).length, 2)
  })

  it('retries retriable error codes and keeps order across several batches', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0, batchSize: 200 })
    cluster.broker.faults.failNext(Produce, KafkaErrorCode.NOT_ENOUGH_REPLICAS, { count: 3 })
    const values = Array.from({ length: 30 }, (_, i) => `value-${i}`)
    await Promise.all(values.map((value) => producer.send({ topic: 't', partition: 2, value })))
    assert.deepEqual(await logValues(cluster, 't', 2), values)
  })

  it('surfaces a fatal error as a KafkaError naming topic, partition and broker, and keeps working', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0 })
    cluster.broker.faults.failNext(Produce, KafkaErrorCode.MESSAGE_TOO_LARGE)
    await assert.rejects(producer.send({ topic: 't', partition: 0, value: 'big' }), (e: unknown) => {
      assert.ok(e instanceof KafkaError)
      assert.equal(e.errorCode, KafkaErrorCode.MESSAGE_TOO_LARGE)
      assert.equal(e.retriable, false)
      assert.equal(e.topic, 't')
      assert.equal(e.partition, 0)
      assert.equal(e.api, 'Produce')
      return true
    })
    // The failed batch consumed sequence numbers; the epoch bump lets the next batch through.
    const next = await producer.send({ topic: 't', partition: 0, value: 'after' })
    assert.equal(next.offset, 0n)
    assert.equal(cluster.requests(InitProducerId).length, 2)
  })

  it('UNKNOWN_PRODUCER_ID bumps the epoch and resends the batch', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0 })
    cluster.broker.faults.failNext(Produce, KafkaErrorCode.UNKNOWN_PRODUCER_ID)
    const result = await producer.send({ topic: 't', partition: 0, value: 'kept' })
    assert.equal(result.offset, 0n)
    assert.equal(cluster.requests(InitProducerId).length, 2)
    assert.deepEqual(await logValues(cluster, 't', 0), ['kept'])
  })

  it('fails with DeliveryTimeoutError when retries run out of time', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0, deliveryTimeoutMs: 300, requestTimeoutMs: 200 })
    cluster.broker.faults.failNext(Produce, KafkaErrorCode.NOT_ENOUGH_REPLICAS, { count: Number.MAX_SAFE_INTEGER })
    await assert.rejects(producer.send({ topic: 't', partition: 0, value: 'x' }), (e: unknown) => e instanceof DeliveryTimeoutError && e.cause instanceof KafkaError)
  })

  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionCodec[]) {
    it(`compresses batches with ${compression}`, async () => {
      const { cluster, producer } = await setup(1, { compression, lingerMs: 5 })
      const values = Array.from({ length: 100 }, (_, i) => `record ${i} `.repeat(5))
      await Promise.all(values.map((value) => producer.send({ topic: 't', partition: 0, value, key: `k${i(value)}`, headers: { h: 'v' } })))
      const batches = await cluster.batches('t', 0)
      assert.ok(batches.length >= 1)
      assert.ok(batches.every((b) => b.compression === compression))
      assert.deepEqual(await logValues(cluster, 't', 0), values)
    })
  }

  it('acks=0 resolves without an offset', async () => {
    const { cluster, producer } = await setup(1, { acks: 0, idempotent: false, lingerMs: 0 })
    const result = await producer.send({ topic: 't', partition: 0, value: 'fire' })
    assert.equal(result.offset, -1n)
    await producer.flush()
    await until(() => cluster.broker.offsets('t', 0).logEndOffset === 1, 'the record to arrive')
  })

  it('rejects at once when the buffer is full and maxBlockMs is 0, and waits otherwise', async () => {
    const { cluster, producer } = await setup(1, { bufferMemory: 1024, maxBlockMs: 0, lingerMs: 0 })
    // The first batch's answer is held, so its bytes stay in the buffer.
    const release = cluster.broker.faults.delay(Produce, 60_000)
    const big = 'x'.repeat(700)
    const first = producer.send({ topic: 't', partition: 0, value: big })
    await assert.rejects(producer.send({ topic: 't', partition: 0, value: big }), BufferFullError)
    release()
    cluster.broker.faults.dropConnections(0)
    await first
  })

  it('waits for buffer space when maxBlockMs allows it', async () => {
    const { producer } = await setup(1, { bufferMemory: 1024, maxBlockMs: 5000, lingerMs: 0 })
    const big = 'x'.repeat(700)
    const results = await Promise.all([1, 2, 3].map(() => producer.send({ topic: 't', partition: 0, value: big })))
    assert.deepEqual(
      results.map((r) => r.offset),
      [0n, 1n, 2n],
    )
  })

  it('flush() sends without waiting for linger', async () => {
    const { producer } = await setup(1, { lingerMs: 60_000 })
    const sent = producer.send({ topic: 't', partition: 0, value: 'x' })
    await producer.flush()
    assert.equal((await sent).offset, 0n)
  })

  it('validates config and records up front', async () => {
    assert.throws(() => new Producer({ bootstrapServers: '' }), ConfigError)
    assert.throws(() => new Producer({ bootstrapServers: 'localhost' }), /bootstrapServers/)
    assert.throws(() => new Producer({ bootstrapServers: 'localhost:9092', acks: 1, idempotent: true }), (e: unknown) => e instanceof ConfigError && e.option === 'acks')
    assert.throws(() => new Producer({ bootstrapServers: 'localhost:9092', lingerMs: -1 }), (e: unknown) => e instanceof ConfigError && e.option === 'lingerMs')
    assert.throws(() => new Producer({ bootstrapServers: 'localhost:9092', compression: 'brotli' as CompressionCodec }), (e: unknown) => e instanceof ConfigError && e.option === 'compression')
    const { producer } = await setup()
    await assert.rejects(producer.send({ topic: 't', partition: 7, value: 'x' }), InvalidRecordError)
    await assert.rejects(producer.send({ topic: '', value: 'x' }), InvalidRecordError)
    await assert.rejects(producer.send({ topic: 't', value: 42 as unknown as string }), InvalidRecordError)
    await assert.rejects(producer.send({ topic: 't', value: 'x', headers: { h: 1 as unknown as string } }), InvalidRecordError)
  })

  it('fails sends to a topic that does not exist with UNKNOWN_TOPIC_OR_PARTITION after maxBlockMs', async () => {
    const { producer } = await setup(1, { maxBlockMs: 200 })
    await assert.rejects(producer.send({ topic: 'missing', value: 'x' }), (e: unknown) => e instanceof KafkaError && e.errorCode === KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION && e.topic === 'missing')
  })

  it('close() flushes what was sent, then refuses new records', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 60_000 })
    const pending = producer.send({ topic: 't', partition: 0, value: 'last' })
    await producer.close()
    assert.equal((await pending).offset, 0n)
    assert.deepEqual(await logValues(cluster, 't', 0), ['last'])
    await assert.rejects(producer.send({ topic: 't', value: 'late' }), ClientClosedError)
  })

  it('a request that hangs times out and is retried on a new connection', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0, requestTimeoutMs: 150, reconnectBackoffMs: 5 })
    cluster.broker.faults.delay(Produce, 60_000, { count: 1 })
    const result = await producer.send({ topic: 't', partition: 0, value: 'x' })
    assert.equal(result.offset, 0n)
    assert.deepEqual(await logValues(cluster, 't', 0), ['x'])
  })
})

function i(value: string): number {
  return value.length
}
