import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { BufferFullError, ClientClosedError, ConfigError, DeliveryTimeoutError, InvalidRecordError } from '../../src/client/errors.js'
import { partitionForKey } from '../../src/client/producer/murmur2.js'
import { Producer, type ProducerConfig } from '../../src/client/producer/producer.js'
import { KafkaError, KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { InitProducerId, Produce, type ProduceRequest } from '../../src/protocol/generated/index.js'
import { decodeRecordBatches, type CompressionCodec, type DataRecordBatch } from '../../src/protocol/records/index.js'
import { CLOSE, HANG } from '../net/helpers/fake-server.js'
import { MockCluster } from './helpers/mock-cluster.js'

const clusters: MockCluster[] = []
const producers: Producer[] = []

async function setup(nodes = 1, config: Partial<ProducerConfig> = {}) {
  const cluster = await MockCluster.start(nodes)
  clusters.push(cluster)
  cluster.createTopic('t', 3)
  const producer = new Producer({ bootstrapServers: cluster.bootstrap, retryBackoffMs: 5, retryBackoffMaxMs: 20, ...config })
  producers.push(producer)
  return { cluster, producer }
}

/** Values in the partition's log, in offset order. */
function logValues(cluster: MockCluster, topic: string, partition: number): string[] {
  const part = cluster.partition(topic, partition)
  const bytes = Buffer.concat(part.log.map((b) => b.bytes))
  return decodeRecordBatches(bytes).batches.flatMap((b) => (b as DataRecordBatch).records.map((r) => r.value?.toString() ?? ''))
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
      logValues(cluster, 't', 1),
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
    const state = [...cluster.partition('t', 0).producers.values()][0]
    assert.equal(state?.nextSequence, 2)
  })

  it('retries after a leader move without duplicates or reordering', async () => {
    const { cluster, producer } = await setup(3, { lingerMs: 1 })
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send({ topic: 't', partition: 0, value: `a${i}` })))
    cluster.moveLeader('t', 0, 2)
    const second = await Promise.all(Array.from({ length: 10 }, (_, i) => producer.send({ topic: 't', partition: 0, value: `b${i}` })))
    assert.deepEqual(logValues(cluster, 't', 0), [...first.map((_, i) => `a${i}`), ...second.map((_, i) => `b${i}`)])
    assert.ok(cluster.requests(Produce).some((r) => r.connection > 0))
    assert.deepEqual(
      second.map((r) => r.offset),
      Array.from({ length: 10 }, (_, i) => BigInt(10 + i)),
    )
  })

  it('writes once when the connection drops after the broker appended (duplicate sequence)', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0 })
    let dropped = false
    cluster.fault(Produce, (request) => {
      if (dropped) return undefined
      dropped = true
      // Let the broker append, then lose the response: the producer cannot know it was written.
      const body = request.body as ProduceRequest
      for (const t of body.topicData) for (const p of t.partitionData) cluster.append(t.name, p.index, p.records!)
      const part = cluster.partition('t', 0)
      part.producers.set(producerIdOf(p0(body)), { epoch: 0, nextSequence: 1, lastSequence: 0, lastBaseOffset: 0n })
      return CLOSE
    })
    const result = await producer.send({ topic: 't', partition: 0, value: 'once' })
    assert.equal(result.offset, 0n)
    assert.deepEqual(logValues(cluster, 't', 0), ['once'])
    assert.equal(cluster.requests(Produce).length, 2)
  })

  it('retries retriable error codes and keeps order across several batches', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0, batchSize: 200 })
    let failures = 3
    cluster.fault(Produce, (request) => {
      if (failures-- <= 0) return undefined
      const body = request.body as ProduceRequest
      return {
        responses: body.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: KafkaErrorCode.NOT_ENOUGH_REPLICAS, baseOffset: -1n })),
        })),
      }
    })
    const values = Array.from({ length: 30 }, (_, i) => `value-${i}`)
    await Promise.all(values.map((value) => producer.send({ topic: 't', partition: 2, value })))
    assert.deepEqual(logValues(cluster, 't', 2), values)
  })

  it('surfaces a fatal error as a KafkaError naming topic, partition and broker, and keeps working', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0 })
    let fail = true
    cluster.fault(Produce, (request) => {
      if (!fail) return undefined
      fail = false
      const body = request.body as ProduceRequest
      return {
        responses: body.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: KafkaErrorCode.MESSAGE_TOO_LARGE, baseOffset: -1n })),
        })),
      }
    })
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

  it('OUT_OF_ORDER_SEQUENCE on the oldest batch bumps the epoch (KIP-360) and resends it, written once and in order', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0 })
    await producer.send({ topic: 't', partition: 0, value: 'first' })
    let fail = true
    cluster.fault(Produce, (request) => {
      if (!fail) return undefined
      fail = false
      return errorResponse(request.body as ProduceRequest, KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    })
    // The broker refused the batch (it lost this producer's sequence state): not written, so resent.
    const resent = await producer.send({ topic: 't', partition: 0, value: 'resent' })
    assert.equal(resent.offset, 1n)
    await producer.send({ topic: 't', partition: 0, value: 'second' })
    const inits = cluster.requests(InitProducerId)
    assert.equal(inits.length, 2)
    // The bump keeps the producer id and asks for the next epoch.
    const bump = inits[1]!.body as { producerId: bigint; producerEpoch: number }
    assert.equal(bump.producerEpoch, 0)
    assert.ok(bump.producerId >= 0n)
    assert.deepEqual(logValues(cluster, 't', 0), ['first', 'resent', 'second'])
  })

  it('UNKNOWN_PRODUCER_ID bumps the epoch and resends the batch', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0 })
    let fail = true
    cluster.fault(Produce, (request) => {
      if (!fail) return undefined
      fail = false
      return errorResponse(request.body as ProduceRequest, KafkaErrorCode.UNKNOWN_PRODUCER_ID)
    })
    const result = await producer.send({ topic: 't', partition: 0, value: 'kept' })
    assert.equal(result.offset, 0n)
    assert.equal(cluster.requests(InitProducerId).length, 2)
    assert.deepEqual(logValues(cluster, 't', 0), ['kept'])
  })

  it('fails with DeliveryTimeoutError when retries run out of time', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0, deliveryTimeoutMs: 300, requestTimeoutMs: 200 })
    cluster.fault(Produce, (request) => {
      const body = request.body as ProduceRequest
      return {
        responses: body.topicData.map((t) => ({
          name: t.name,
          partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode: KafkaErrorCode.NOT_ENOUGH_REPLICAS, baseOffset: -1n })),
        })),
      }
    })
    await assert.rejects(producer.send({ topic: 't', partition: 0, value: 'x' }), (e: unknown) => e instanceof DeliveryTimeoutError && e.cause instanceof KafkaError)
  })

  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionCodec[]) {
    it(`compresses batches with ${compression}`, async () => {
      const { cluster, producer } = await setup(1, { compression, lingerMs: 5 })
      const values = Array.from({ length: 100 }, (_, i) => `record ${i} `.repeat(5))
      await Promise.all(values.map((value) => producer.send({ topic: 't', partition: 0, value, key: `k${i(value)}`, headers: { h: 'v' } })))
      const batches = cluster.partition('t', 0).log
      assert.ok(batches.length >= 1)
      const decoded = decodeRecordBatches(Buffer.concat(batches.map((b) => b.bytes))).batches
      assert.ok(decoded.every((b) => b.compression === compression))
      assert.deepEqual(logValues(cluster, 't', 0), values)
    })
  }

  it('acks=0 resolves without an offset', async () => {
    const { cluster, producer } = await setup(1, { acks: 0, idempotent: false, lingerMs: 0 })
    const result = await producer.send({ topic: 't', partition: 0, value: 'fire' })
    assert.equal(result.offset, -1n)
    await producer.flush()
    await cluster.nodes[0]!.waitFor((r) => r.apiName === 'Produce')
  })

  it('rejects at once when the buffer is full and maxBlockMs is 0, and waits otherwise', async () => {
    const { cluster, producer } = await setup(1, { bufferMemory: 1024, maxBlockMs: 0, lingerMs: 0 })
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    cluster.fault(Produce, async () => {
      await gate
      return undefined
    })
    const big = 'x'.repeat(700)
    const first = producer.send({ topic: 't', partition: 0, value: big })
    await assert.rejects(producer.send({ topic: 't', partition: 0, value: big }), BufferFullError)
    release()
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
    assert.deepEqual(logValues(cluster, 't', 0), ['last'])
    await assert.rejects(producer.send({ topic: 't', value: 'late' }), ClientClosedError)
  })

  it('a request that hangs times out and is retried on a new connection', async () => {
    const { cluster, producer } = await setup(1, { lingerMs: 0, requestTimeoutMs: 150, reconnectBackoffMs: 5 })
    let hang = true
    cluster.fault(Produce, () => {
      if (!hang) return undefined
      hang = false
      return HANG
    })
    const result = await producer.send({ topic: 't', partition: 0, value: 'x' })
    assert.equal(result.offset, 0n)
    assert.deepEqual(logValues(cluster, 't', 0), ['x'])
  })
})

function errorResponse(body: ProduceRequest, errorCode: number) {
  return {
    responses: body.topicData.map((t) => ({
      name: t.name,
      partitionResponses: t.partitionData.map((p) => ({ index: p.index, errorCode, baseOffset: -1n })),
    })),
  }
}

function p0(body: ProduceRequest) {
  return body.topicData[0]!.partitionData[0]!
}

function producerIdOf(partition: { records: Buffer | null }): bigint {
  return partition.records!.readBigInt64BE(43)
}

function i(value: string): number {
  return value.length
}
