import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { Consumer, type ConsumerConfig } from '../../src/client/consumer/consumer.js'
import { OffsetOutOfRangeError } from '../../src/client/errors.js'
import { Fetch } from '../../src/protocol/generated/index.js'
import { encodeControlBatch, encodeRecordBatch } from '../../src/protocol/records/index.js'
import { MockCluster } from './helpers/mock-cluster.js'
import { take } from './helpers/take.js'

const clusters: MockCluster[] = []
const consumers: Consumer[] = []

async function setup(nodes = 1, config: Partial<ConsumerConfig> = {}) {
  const cluster = await MockCluster.start(nodes)
  clusters.push(cluster)
  cluster.createTopic('t', 3)
  const consumer = new Consumer({ bootstrapServers: cluster.bootstrap, fetchMaxWaitMs: 100, retryBackoffMs: 5, retryBackoffMaxMs: 20, ...config })
  consumers.push(consumer)
  return { cluster, consumer }
}

function produce(cluster: MockCluster, partition: number, values: string[], extra: { producerId?: bigint; transactional?: boolean } = {}): void {
  cluster.append(
    't',
    partition,
    encodeRecordBatch({
      records: values.map((value, i) => ({ key: `k${i}`, value, timestamp: 1_700_000_000_000 + i })),
      ...(extra.producerId === undefined ? {} : { producerId: extra.producerId, producerEpoch: 0, baseSequence: 0 }),
      transactional: extra.transactional ?? false,
    }),
  )
}

/** Reads `count` records from the iterator, failing after `timeoutMs` instead of hanging. */

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.close()))
  await Promise.all(clusters.splice(0).map((c) => c.close()))
})

describe('Consumer', () => {
  it('reads assigned partitions from the earliest offset, in order per partition', async () => {
    const { cluster, consumer } = await setup(3)
    for (let p = 0; p < 3; p++) produce(cluster, p, [`${p}-a`, `${p}-b`, `${p}-c`])
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
    produce(cluster, 0, ['a', 'b'])
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
    produce(cluster, 0, ['old'])
    await consumer.assign([{ topic: 't', partition: 0 }])
    await cluster.nodes[0]!.waitFor((r) => r.apiName === 'Fetch')
    produce(cluster, 0, ['new'])
    const [record] = await take(consumer, 1, 5000)
    assert.equal(record?.value?.toString(), 'new')
    assert.equal(record?.offset, 1n)
  })

  it('seek() drops buffered records and continues from the new offset', async () => {
    const { cluster, consumer } = await setup()
    produce(cluster, 0, ['a', 'b', 'c', 'd'])
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
    produce(cluster, 0, ['a', 'b'])
    await consumer.assign([{ topic: 't', partition: 0, offset: 100n }])
    const records = await take(consumer, 2, 5000)
    assert.deepEqual(
      records.map((r) => r.offset),
      [0n, 1n],
    )
  })

  it("surfaces OffsetOutOfRangeError with autoOffsetReset 'none'", async () => {
    const { cluster, consumer } = await setup(1, { autoOffsetReset: 'none' })
    produce(cluster, 0, ['a'])
    await consumer.assign([{ topic: 't', partition: 0, offset: 100n }])
    await assert.rejects(take(consumer, 1, 5000), (e: unknown) => e instanceof OffsetOutOfRangeError && e.offset === 100n && e.partition === 0)
  })

  it('pause() stops fetching and delivery for a partition until resume()', async () => {
    const { cluster, consumer } = await setup()
    produce(cluster, 0, ['p0'])
    produce(cluster, 1, ['p1'])
    await consumer.assign([
      { topic: 't', partition: 0, offset: 0n },
      { topic: 't', partition: 1, offset: 0n },
    ])
    consumer.pause([{ topic: 't', partition: 0 }])
    const [first] = await take(consumer, 1, 5000)
    assert.equal(first?.partition, 1)
    const fetchesBefore = cluster.requests(Fetch).length
    await cluster.nodes[0]!.waitFor(() => cluster.requests(Fetch).length > fetchesBefore)
    for (const request of cluster.requests(Fetch).slice(fetchesBefore)) {
      const partitions = (request.body as { topics: Array<{ partitions: Array<{ partition: number }> }> }).topics.flatMap((t) => t.partitions.map((p) => p.partition))
      assert.ok(!partitions.includes(0), 'a paused partition must not be fetched')
    }
    consumer.resume([{ topic: 't', partition: 0 }])
    const [second] = await take(consumer, 1, 5000)
    assert.equal(second?.partition, 0)
  })

  it('pause() with prefetch hands nothing out but fills the buffer, up to its bound, for resume()', async () => {
    const { cluster, consumer } = await setup(1, { maxPartitionFetchBytes: 2048, maxBufferedBytesPerPartition: 4096 })
    for (let i = 0; i < 40; i++) produce(cluster, 0, [`${i}`.padEnd(500, '.')])
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    consumer.pause([{ topic: 't', partition: 0 }], { prefetch: true })
    // Paused without prefetch, at most the fetch sent at assignment would go out.
    await cluster.nodes[0]!.waitFor(() => cluster.requests(Fetch).length >= 3)
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
    for (let i = 0; i < 100; i++) produce(cluster, 0, [`${i}`.padEnd(500, '.')])
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    // Three fetches of up to 2 KiB fill the 4 KiB buffer (unbounded, reading 100 records would take
    // about 34); while nothing is read, no more follow.
    await cluster.nodes[0]!.waitFor(() => cluster.requests(Fetch).length >= 3)
    await assert.rejects(cluster.nodes[0]!.waitFor(() => cluster.requests(Fetch).length >= 5, 300))
    assert.ok(consumer.bufferedBytes({ topic: 't', partition: 0 }) <= 4096 + 2048)
    const all = await take(consumer, 100, 5000)
    assert.equal(all.at(-1)?.offset, 99n)
    assert.ok(cluster.requests(Fetch).length >= 100 / 5)
  })

  it('read_committed skips aborted transactions and control batches', async () => {
    const { cluster, consumer } = await setup(1, { isolationLevel: 'read_committed' })
    produce(cluster, 0, ['plain'])
    produce(cluster, 0, ['aborted-1', 'aborted-2'], { producerId: 7n, transactional: true })
    cluster.append('t', 0, encodeControlBatch({ marker: 'abort', producerId: 7n, producerEpoch: 0, coordinatorEpoch: 0, timestamp: Date.now() }))
    produce(cluster, 0, ['committed'], { producerId: 8n, transactional: true })
    cluster.append('t', 0, encodeControlBatch({ marker: 'commit', producerId: 8n, producerEpoch: 0, coordinatorEpoch: 0, timestamp: Date.now() }))
    produce(cluster, 0, ['after'])
    cluster.partition('t', 0).aborted.push({ producerId: 7n, firstOffset: 1n })
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    const records = await take(consumer, 3, 5000)
    assert.deepEqual(
      records.map((r) => r.value?.toString()),
      ['plain', 'committed', 'after'],
    )
  })

  it('read_uncommitted sees aborted data but never control records', async () => {
    const { cluster, consumer } = await setup(1)
    produce(cluster, 0, ['aborted'], { producerId: 7n, transactional: true })
    cluster.append('t', 0, encodeControlBatch({ marker: 'abort', producerId: 7n, producerEpoch: 0, coordinatorEpoch: 0, timestamp: Date.now() }))
    produce(cluster, 0, ['next'])
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
    produce(cluster, 0, ['before'])
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    await take(consumer, 1, 5000)
    cluster.moveLeader('t', 0, 1)
    produce(cluster, 0, ['after'])
    const [record] = await take(consumer, 1, 5000)
    assert.equal(record?.value?.toString(), 'after')
    assert.ok(cluster.nodes[1]!.received.some((r) => r.apiName === 'Fetch'))
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
