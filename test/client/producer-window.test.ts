/**
 * The producer's throughput features keep its guarantees: batches pipelined per partition, a batch
 * refused as too large split in two, sendBatch's shared promise (its records skip linger), and the
 * uniform sticky partitioner.
 */
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { afterEach, describe, it } from 'node:test'
import { InvalidRecordError } from '../../src/client/errors.js'
import { Producer, type ProducerConfig } from '../../src/client/producer/producer.js'
import { REQUEST_CHANNEL, RESPONSE_CHANNEL, type RequestEvent, type ResponseEvent } from '../../src/net/diagnostics.js'
import { StickyPartitioner } from '../../src/client/producer/sticky-partitioner.js'
import { Produce } from '../../src/protocol/generated/index.js'
import { encodeRecordBatch, type DataRecordBatch } from '../../src/protocol/records/index.js'
import { EmbeddedCluster } from './helpers/embedded-cluster.js'

const clusters: EmbeddedCluster[] = []
const producers: Producer[] = []

async function setup(config: Partial<ProducerConfig> = {}, topicConfigs: Record<string, string> = {}) {
  const cluster = await EmbeddedCluster.start(1)
  clusters.push(cluster)
  cluster.broker.createTopic('t', { partitions: 3, configs: topicConfigs })
  const producer = new Producer({ bootstrapServers: cluster.bootstrap, retryBackoffMs: 5, retryBackoffMaxMs: 20, ...config })
  producers.push(producer)
  return { cluster, producer }
}

function logBatches(cluster: EmbeddedCluster, partition: number): Promise<DataRecordBatch[]> {
  return cluster.batches('t', partition)
}

function logValues(cluster: EmbeddedCluster, partition: number): Promise<string[]> {
  return cluster.values('t', partition)
}

afterEach(async () => {
  await Promise.all(producers.splice(0).map((p) => p.close(1000)))
  await Promise.all(clusters.splice(0).map((c) => c.close()))
})

describe('Producer in-flight window and batching', () => {
  it('keeps several batches of one partition on the wire at once, and writes them in order', async () => {
    const { cluster, producer } = await setup({ lingerMs: 0, batchSize: 200 })
    let onWire = 0
    let most = 0
    const sent = (m: unknown): void => {
      if ((m as RequestEvent).apiKey === Produce.apiKey) most = Math.max(most, ++onWire)
    }
    const answered = (m: unknown): void => {
      if ((m as ResponseEvent).apiKey === Produce.apiKey) onWire--
    }
    diagnostics.subscribe(REQUEST_CHANNEL, sent)
    diagnostics.subscribe(RESPONSE_CHANNEL, answered)
    // Slow answers, so that the window fills while the first requests wait.
    cluster.broker.faults.delay(Produce, 20)
    try {
      const values = Array.from({ length: 60 }, (_, i) => `value-${i}`)
      await Promise.all(values.map((value) => producer.send({ topic: 't', partition: 1, value })))
      assert.equal(most, 5, 'five requests of one partition were on the wire together, and no more')
      assert.deepEqual(await logValues(cluster, 1), values)
    } finally {
      diagnostics.unsubscribe(REQUEST_CHANNEL, sent)
      diagnostics.unsubscribe(RESPONSE_CHANNEL, answered)
    }
  })

  it('splits a batch the broker refuses as too large, keeps its sequence range, and writes every record once in order', async () => {
    // The topic takes a batch of four of these records and refuses one of five or more as too large.
    const fourLongest = encodeRecordBatch({ records: ['record-12', 'record-13', 'record-14', 'record-15'].map((value) => ({ value, timestamp: Date.now() })), producerId: 1n, producerEpoch: 0, baseSequence: 0 })
    const { cluster, producer } = await setup({ lingerMs: 50, batchSize: 64 * 1024 }, { 'max.message.bytes': String(fourLongest.length + 8) })
    const values = Array.from({ length: 16 }, (_, i) => `record-${i}`)
    const results = await Promise.all(values.map((value) => producer.send({ topic: 't', partition: 0, value })))
    const batches = await logBatches(cluster, 0)
    const refusals = cluster.requests(Produce).length - batches.length
    assert.ok(refusals >= 3, `the 16-record batch was refused and split (${refusals} refusals)`)
    assert.deepEqual(await logValues(cluster, 0), values)
    assert.deepEqual(results.map((r) => r.offset), values.map((_, i) => BigInt(i)))
    assert.ok(batches.length >= 4)
    // The halves carry consecutive sequences: no gap, no epoch bump needed.
    let expected = 0
    for (const batch of batches) {
      assert.equal(batch.baseSequence, expected)
      expected += batch.records.length
    }
  })

  it('sendBatch resolves every record in order with its offset, and refuses the whole call on an invalid record', async () => {
    const { cluster, producer } = await setup({ lingerMs: 1 })
    const records = Array.from({ length: 50 }, (_, i) => ({ topic: 't', partition: i % 3, value: `v${i}` }))
    const results = await producer.sendBatch(records)
    assert.equal(results.length, 50)
    const logs = await Promise.all([0, 1, 2].map((p) => logValues(cluster, p)))
    results.forEach((r, i) => {
      assert.equal(r.partition, i % 3)
      assert.equal(logs[r.partition]![Number(r.offset)], `v${i}`)
    })
    await assert.rejects(producer.sendBatch([{ topic: 't', value: 'fine' }, { topic: 't', value: 42 as unknown as string }]), InvalidRecordError)
    const written = (await Promise.all([0, 1, 2].map((p) => logValues(cluster, p)))).reduce((n, values) => n + values.length, 0)
    assert.equal(written, 50, 'nothing of the refused call was sent')
    assert.deepEqual(await producer.sendBatch([]), [])
  })

  it("sendBatch's records go out without waiting for lingerMs, with a send() of the same turn; a lone send() waits", async () => {
    const { cluster, producer } = await setup({ lingerMs: 60_000 })
    await producer.connect()
    const alone = producer.send({ topic: 't', partition: 0, value: 'lingers' })
    await producer.sendBatch([{ topic: 't', partition: 1, value: 'a' }, { topic: 't', partition: 1, value: 'b' }])
    assert.deepEqual(await logValues(cluster, 1), ['a', 'b'])
    assert.deepEqual(await logValues(cluster, 0), [], 'the send() to another partition still lingers')
    const sameTurn = producer.send({ topic: 't', partition: 2, value: 'joins' })
    await producer.sendBatch([{ topic: 't', partition: 2, value: 'c' }])
    assert.equal((await sameTurn).offset, 0n, "a send() that joined the batch went with it")
    await producer.flush()
    assert.equal((await alone).offset, 0n)
  })

  it('sendBatch waits for metadata of a topic it has not seen, like send()', async () => {
    const { cluster, producer } = await setup({ lingerMs: 1 })
    cluster.broker.createTopic('late', { partitions: 2 })
    const results = await producer.sendBatch([{ topic: 'late', partition: 1, value: 'a' }, { topic: 'late', partition: 1, value: 'b' }])
    assert.deepEqual(results.map((r) => r.offset), [0n, 1n])
  })
})

describe('uniform sticky partitioner (KIP-794)', () => {
  it('stays on one partition until batchSize bytes went to it, then moves to another', () => {
    let draws = 0
    const partitioner = new StickyPartitioner(1000, () => [0.1, 0.0, 0.99][draws++ % 3]!)
    const first = partitioner.partition('t', 4, 400)
    assert.equal(partitioner.partition('t', 4, 400), first)
    assert.equal(partitioner.partition('t', 4, 400), first, 'still under 1000 bytes before this record')
    const second = partitioner.partition('t', 4, 400)
    assert.notEqual(second, first)
  })

  it('spreads keyless records evenly over the partitions', () => {
    const partitioner = new StickyPartitioner(1000)
    const bytes = new Array<number>(5).fill(0)
    for (let i = 0; i < 50_000; i++) bytes[partitioner.partition('t', 5, 100)]! += 100
    const mean = bytes.reduce((a, b) => a + b) / 5
    for (const b of bytes) assert.ok(Math.abs(b - mean) / mean < 0.1, `partition bytes ${bytes.join(', ')}`)
  })

  it('never moves to the same partition, and handles one partition and a shrunk topic', () => {
    const partitioner = new StickyPartitioner(10)
    let last = partitioner.partition('t', 3, 10)
    for (let i = 0; i < 100; i++) {
      const next = partitioner.partition('t', 3, 10)
      assert.notEqual(next, last)
      last = next
    }
    assert.equal(new StickyPartitioner(10).partition('one', 1, 50), 0)
    assert.ok(partitioner.partition('t', 1, 10) === 0)
  })
})
