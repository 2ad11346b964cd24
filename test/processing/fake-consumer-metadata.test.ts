/**
 * The fake consumer group keeps the port's metadata contract: what a member commits with an offset
 * is stored with it and handed to the partition's next owner in `onAssign`; a commit without
 * metadata clears it; a partition's metadata over the broker's limit is refused, the others of the
 * commit stored, as Kafka does.
 * Fetched records name their partition.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { AssignedPartition, ConsumerEvents, FetchedBatch } from '../../src/processing/consumer-port.js'
import { CommitMetadataTooLargeError } from '../../src/processing/errors.js'
import { FakeCluster, type FakeConsumer } from '../../src/processing/testing/fake-consumer.js'
import { within } from './helpers.js'

const TP0 = { topic: 'orders', partition: 0 }

interface Started {
  readonly consumer: FakeConsumer
  readonly assigned: (readonly AssignedPartition[])[]
  readonly batches: FetchedBatch[]
  /** Resolves with the next batch delivered. */
  nextBatch(): Promise<FetchedBatch>
}

async function start(cluster: FakeCluster, id: string): Promise<Started> {
  const consumer = cluster.member(id)
  const assigned: (readonly AssignedPartition[])[] = []
  const batches: FetchedBatch[] = []
  const waiting: Array<(batch: FetchedBatch) => void> = []
  const events: ConsumerEvents = {
    onAssign: (partitions) => {
      assigned.push(partitions)
      return Promise.resolve()
    },
    onRevoke: () => Promise.resolve(),
    onLost: () => Promise.resolve(),
    onBatch: (batch) => {
      batches.push(batch)
      for (const resolve of waiting.splice(0)) resolve(batch)
    },
    onFatal: (error) => assert.fail(error),
  }
  await consumer.start([TP0.topic], events)
  return { consumer, assigned, batches, nextBatch: () => within(new Promise((resolve) => waiting.push(resolve)), 5000, `a batch for ${id}`) }
}

describe('FakeCluster commit metadata', () => {
  it('stores metadata with the offset and hands it to the next owner in onAssign', async () => {
    const cluster = new FakeCluster()
    cluster.createTopic(TP0.topic, 1)
    for (let i = 0; i < 4; i++) cluster.produce(TP0.topic, 0, { key: `k${i}`, value: `v${i}` })

    const a = await start(cluster, 'a')
    const firstBatch = a.nextBatch()
    await a.consumer.assign([TP0])
    assert.deepEqual(a.assigned, [[{ ...TP0, committed: null }]], 'nothing committed yet')
    const batch = await firstBatch
    assert.deepEqual(batch.records.map((r) => [r.topic, r.partition, r.offset]), [[TP0.topic, 0, 0n], [TP0.topic, 0, 1n], [TP0.topic, 0, 2n], [TP0.topic, 0, 3n]])
    assert.equal(cluster.committedMetadata(TP0.topic, 0), undefined)

    await a.consumer.commit([{ ...TP0, offset: 1n, metadata: 'done:3' }])
    assert.equal(cluster.committedOffset(TP0.topic, 0), 1n)
    assert.equal(cluster.committedMetadata(TP0.topic, 0), 'done:3')
    const committed = await cluster.waitFor((e) => e.type === 'committed', 1000)
    assert.deepEqual(committed, { type: 'committed', member: 'a', offsets: [{ ...TP0, offset: 1n, metadata: 'done:3' }] })
    await a.consumer.revoke([TP0])

    const b = await start(cluster, 'b')
    const resumed = b.nextBatch()
    await b.consumer.assign([TP0])
    assert.deepEqual(b.assigned, [[{ ...TP0, committed: { offset: 1n, metadata: 'done:3' } }]])
    const assignedEntry = cluster.history.findLast((e) => e.type === 'assigned')
    assert.deepEqual(assignedEntry, { type: 'assigned', member: 'b', partitions: [{ ...TP0, committed: { offset: 1n, metadata: 'done:3' } }] }, 'the history shows what was handed over')
    assert.equal((await resumed).records[0]?.offset, 1n, 'fetching starts at the committed offset')

    // A commit without metadata stores none, as Kafka does; the next owner gets null.
    await b.consumer.commit([{ ...TP0, offset: 4n }])
    assert.equal(cluster.committedMetadata(TP0.topic, 0), '')
    await b.consumer.revoke([TP0])
    const c = await start(cluster, 'c')
    await c.consumer.assign([TP0])
    assert.deepEqual(c.assigned, [[{ ...TP0, committed: { offset: 4n, metadata: null } }]])
  })

  it('refuses the partition whose metadata is over offsetMetadataMaxBytes (UTF-8), storing the others of the commit, as Kafka does', async () => {
    const cluster = new FakeCluster({ offsetMetadataMaxBytes: 8 })
    cluster.createTopic(TP0.topic, 2)
    const a = await start(cluster, 'a')
    const tp1 = { topic: TP0.topic, partition: 1 }
    await a.consumer.assign([TP0, tp1])
    await a.consumer.commit([{ ...TP0, offset: 0n, metadata: '12345678' }])
    // Eight characters, nine bytes: the limit counts bytes.
    await assert.rejects(
      a.consumer.commit([{ ...tp1, offset: 1n }, { ...TP0, offset: 1n, metadata: '1234567é' }]),
      (error) => error instanceof CommitMetadataTooLargeError && error.code === 'PROCESSING_COMMIT_METADATA_TOO_LARGE',
    )
    // The embedded broker does the same (adapters/consumer-port-metadata.test.ts).
    assert.equal(cluster.committedOffset(tp1.topic, 1), 1n, 'the partition within the limit is stored')
    assert.equal(cluster.committedOffset(TP0.topic, 0), 0n, 'the refused partition keeps its offset')
    assert.equal(cluster.committedMetadata(TP0.topic, 0), '12345678')
    const rejected = cluster.history.find((e) => e.type === 'commit-rejected')
    assert.deepEqual(rejected, { type: 'commit-rejected', member: 'a', offsets: [{ ...TP0, offset: 1n, metadata: '1234567é' }], reason: 'metadata-too-large' })
  })
})
