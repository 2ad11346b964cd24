/**
 * The assign-based consumer against the embedded broker: positions, offset resets, seeking,
 * pausing with prefetch, the per-partition buffer bound, isolation levels over real transactions,
 * leader moves and shutdown.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { Consumer, type ConsumerConfig } from '../../src/client/consumer/consumer.js'
import { OffsetOutOfRangeError } from '../../src/client/errors.js'
import { Producer } from '../../src/client/producer/producer.js'
import { Fetch } from '../../src/protocol/generated/index.js'
import { encodeRecordBatch } from '../../src/protocol/records/index.js'
import { EmbeddedCluster, until } from './helpers/embedded-cluster.js'
import { take } from './helpers/take.js'

const clusters: EmbeddedCluster[] = []
const consumers: Consumer[] = []

async function setup(nodes = 1, config: Partial<ConsumerConfig> = {}) {
  const cluster = await EmbeddedCluster.start(nodes)
  clusters.push(cluster)
  cluster.broker.createTopic('t', { partitions: 3, replicationFactor: 1 })
  const consumer = new Consumer({ bootstrapServers: cluster.bootstrap, fetchMaxWaitMs: 100, retryBackoffMs: 5, retryBackoffMaxMs: 20, ...config })
  consumers.push(consumer)
  return { cluster, consumer }
}

/** One batch of `values` appended to partition `partition` of 't'. */
async function produce(cluster: EmbeddedCluster, partition: number, values: string[]): Promise<void> {
  await cluster.append('t', partition, encodeRecordBatch({ records: values.map((value, i) => ({ key: `k${i}`, value, timestamp: 1_700_000_000_000 + i })) }))
}

/** One transaction of a transactional producer writing `values` to partition 0 of 't', then committed or aborted. */
async function transaction(cluster: EmbeddedCluster, transactionalId: string, values: string[], end: 'commit' | 'abort'): Promise<void> {
  const producer = new Producer({ bootstrapServers: cluster.bootstrap, transactionalId })
  try {
    await producer.initTransactions()
    producer.beginTransaction()
    await Promise.all(values.map((value) => producer.send({ topic: 't', partition: 0, value })))
    if (end === 'commit') await producer.commitTransaction()
    else await producer.abortTransaction()
  } finally {
    await producer.close()
  }
}

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.close()))
  await Promise.all(clusters.splice(0).map((c) => c.close()))
})

describe('Consumer', () => {
  it('reads assigned partitions from the earliest offset, in order per partition', async () => {
    const { cluster, consumer } = await setup(3)
    for (let p = 0; p < 3; p++) await produce(cluster, p, [`${p}-a`, `${p}-b`, `${p}-c`])
    await consumer.assign([0, 1, 2].map((partition) => ({ topic: 't', partition, offset: 'earliest' as const })))
    const records = await take(consumer, 9, 5000)
    for (let p = 0; p < 3; p++) {
      const mine = records.filter((r) => r.partition === p)
      assert.deepEqual(
        mine.map((r) => r.value?.toString()),
        [`${p}-a`, `${p}-b`, `${p}-c`],
      )
      assert.deepEqual(
        mine.map((r) => r.offset),
        [0n, 1n, 2n],
      )
    }
    assert.equal(consumer.position({ topic: 't', partition: 0 }), 3n)
  })

  it('yields batches with the high watermark', async () => {
    const { cluster, consumer } = await setup()
    await produce(cluster, 0, ['a', 'b'])
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    for await (const batch of consumer.batches()) {
      assert.equal(batch.topic, 't')
      assert.equal(batch.highWatermark, 2n)
      assert.deepEqual(
        batch.records.map((r) => r.value?.toString()),
        ['a', 'b'],
      )
      break
    }
  })

  it('starts at the end with autoOffsetReset latest, and receives what is produced later', async () => {
    const { cluster, consumer } = await setup(1, { autoOffsetReset: 'latest' })
    await produce(cluster, 0, ['old'])
    await consumer.assign([{ topic: 't', partition: 0 }])
    await until(() => cluster.requests(Fetch).length > 0, 'a fetch')
    await produce(cluster, 0, ['new'])
    const [record] = await take(consumer, 1, 5000)
    assert.equal(record?.value?.toString(), 'new')
    assert.equal(record?.offset, 1n)
  })

  it('seek() drops buffered records and continues from the new offset', async () => {
    const { cluster, consumer } = await setup()
    await produce(cluster, 0, ['a', 'b', 'c', 'd'])
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    const [first] = await take(consumer, 1, 5000)
    assert.equal(first?.offset, 0n)
    consumer.seek({ topic: 't', partition: 0 }, 3n)
    const [next] = await take(consumer, 1, 5000)
    assert.equal(next?.offset, 3n)
    assert.equal(next?.value?.toString(), 'd')
  })

  it('resets an out-of-range offset per autoOffsetReset', async () => {
    const { cluster, consumer } = await setup(1, { autoOffsetReset: 'earliest' })
    await produce(cluster, 0, ['a', 'b'])
    await consumer.assign([{ topic: 't', partition: 0, offset: 100n }])
    const records = await take(consumer, 2, 5000)
    assert.deepEqual(
      records.map((r) => r.offset),
      [0n, 1n],
    )
  })

  it("surfaces OffsetOutOfRangeError with autoOffsetReset 'none'", async () => {
    const { cluster, consumer } = await setup(1, { autoOffsetReset: 'none' })
    await produce(cluster, 0, ['a'])
    await consumer.assign([{ topic: 't', partition: 0, offset: 100n }])
    await assert.rejects(take(consumer, 1, 5000), (e: unknown) => e instanceof OffsetOutOfRangeError && e.offset === 100n && e.partition === 0)
  })

  it('pause() with prefetch hands nothing out but fills the buffer, up to its bound, for resume()', async () => {
    const { cluster, consumer } = await setup(1, { maxPartitionFetchBytes: 2048, maxBufferedBytesPerPartition: 4096 })
    for (let i = 0; i < 40; i++) await produce(cluster, 0, [`${i}`.padEnd(500, '.')])
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    consumer.pause([{ topic: 't', partition: 0 }], { prefetch: true })
    // Paused without prefetch, at most the fetch sent at assignment would go out.
    await until(() => cluster.requests(Fetch).length >= 3, 'three fetches')
    assert.ok(consumer.bufferedBytes({ topic: 't', partition: 0 }) <= 4096 + 2048, 'the buffer bound holds while paused')
    const iterator = consumer[Symbol.asyncIterator]()
    const next = iterator.next()
    // With records buffered, an unpaused partition would hand one out within this turn.
    const first = await Promise.race([next.then(() => 'handed out'), new Promise((resolve) => setImmediate(() => resolve('held')))])
    assert.equal(first, 'held', 'nothing is handed out while paused')
    consumer.resume([{ topic: 't', partition: 0 }])
    assert.equal((await next).value?.offset, 0n)
    await iterator.return?.()
  })

  it('keeps the per-partition buffer bounded when the application does not read', async () => {
    const { cluster, consumer } = await setup(1, { maxPartitionFetchBytes: 2048, maxBufferedBytesPerPartition: 4096 })
    for (let i = 0; i < 100; i++) await produce(cluster, 0, [`${i}`.padEnd(500, '.')])
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    // Three fetches of up to 2 KiB fill the 4 KiB buffer (unbounded, reading 100 records would take
    // about 34); while nothing is read, no more follow.
    await until(() => cluster.requests(Fetch).length >= 3, 'three fetches')
    await assert.rejects(until(() => cluster.requests(Fetch).length >= 5, 'more fetches', 300))
    assert.ok(consumer.bufferedBytes({ topic: 't', partition: 0 }) <= 4096 + 2048)
    const all = await take(consumer, 100, 5000)
    assert.equal(all.at(-1)?.offset, 99n)
    assert.ok(cluster.requests(Fetch).length >= 100 / 5)
  })

  it('read_committed skips aborted transactions and control batches', async () => {
    const { cluster, consumer } = await setup(1, { isolationLevel: 'read_committed' })
    await produce(cluster, 0, ['plain'])
    await transaction(cluster, 'aborts', ['aborted-1', 'aborted-2'], 'abort')
    await transaction(cluster, 'commits', ['committed'], 'commit')
    await produce(cluster, 0, ['after'])
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    const records = await take(consumer, 3, 5000)
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      ['plain', 'committed', 'after'],
    )
  })

  it('read_uncommitted sees aborted data but never control records', async () => {
    const { cluster, consumer } = await setup(1)
    await transaction(cluster, 'aborts', ['aborted'], 'abort')
    await produce(cluster, 0, ['next'])
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    const records = await take(consumer, 2, 5000)
    assert.deepEqual(
      records.map((r) => [r.offset, r.value?.toString()]),
      [
        [0n, 'aborted'],
        [2n, 'next'],
      ],
    )
  })

  it('follows a leader move', async () => {
    const { cluster, consumer } = await setup(3)
    await produce(cluster, 0, ['before'])
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    await take(consumer, 1, 5000)
    cluster.broker.faults.moveLeader('t', 0, 1)
    await produce(cluster, 0, ['after'])
    const [record] = await take(consumer, 1, 5000)
    assert.equal(record?.value?.toString(), 'after')
    assert.ok(cluster.requests(Fetch).some((r) => cluster.sentTo(r, 1)))
  })

  it('close() ends an iteration that is waiting for records', async () => {
    const { consumer } = await setup()
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    const iteration = (async () => {
      let count = 0
      for await (const _ of consumer) count++
      return count
    })()
    await consumer.close()
    assert.equal(await iteration, 0)
  })

  it('rejects assignment of a partition the topic lacks', async () => {
    const { consumer } = await setup()
    await assert.rejects(consumer.assign([{ topic: 't', partition: 9 }]), /partition 9 does not exist/)
  })
})
