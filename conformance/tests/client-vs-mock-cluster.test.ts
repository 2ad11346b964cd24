/**
 * Invariant: baton's client works against a Kafka-protocol broker baton did not write —
 * librdkafka's mock cluster (3 brokers) — producing 10 000 keyed records with each compression
 * codec and reading every one back, in order per partition, with keys intact.
 *
 * The mock's known limits shape the test: it has no CreateTopics (topics auto-create with 4
 * partitions) and ignores read_committed.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startMockCluster, type MockCluster } from './helpers/mock-cluster.js'
import { Admin, Consumer, Producer } from '../../src/client/index.js'

const RECORDS = 10_000
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const

describe("baton's client against librdkafka's mock cluster", () => {
  let mock: MockCluster
  before(async () => {
    mock = await startMockCluster()
  })
  after(async () => {
    await mock.stop()
  })

  for (const compression of CODECS) {
    it(`round-trips ${RECORDS} records with ${compression}`, async () => {
      const topic = `mock-${compression}`
      const producer = new Producer({ bootstrapServers: mock.bootstrap, compression, lingerMs: 5 })
      const sent = await Promise.all(Array.from({ length: RECORDS }, (_, i) => producer.send({ topic, key: `k${i % 100}`, value: `value-${i}` })))
      await producer.close()
      const partitions = [...new Set(sent.map((s) => s.partition))].sort()
      assert.ok(partitions.length > 1, 'keys spread over the auto-created partitions')

      const consumer = new Consumer({ bootstrapServers: mock.bootstrap, autoOffsetReset: 'earliest' })
      await consumer.assign(partitions.map((partition) => ({ topic, partition })))
      const lastSeqOfKey = new Map<string, number>()
      const seen = new Set<number>()
      for await (const record of consumer) {
        const seq = Number(record.value?.toString().slice('value-'.length))
        const key = record.key?.toString() ?? ''
        assert.equal(key, `k${seq % 100}`)
        assert.ok(!seen.has(seq), `record ${seq} read twice`)
        assert.ok(seq > (lastSeqOfKey.get(key) ?? -1), `records of ${key} out of order`)
        lastSeqOfKey.set(key, seq)
        seen.add(seq)
        if (seen.size === RECORDS) break
      }
      await consumer.close()
      assert.equal(seen.size, RECORDS)
    })
  }

  it('describes the cluster and lists offsets through the admin client', async () => {
    const admin = new Admin({ bootstrapServers: mock.bootstrap })
    const cluster = await admin.describeCluster()
    assert.equal(cluster.brokers.length, 3)
    const offsets = await admin.listOffsets('mock-none', 'latest')
    assert.equal(offsets.reduce((sum, p) => sum + Number(p.offset), 0), RECORDS)
    await admin.close()
  })
})
