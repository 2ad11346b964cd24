/**
 * The client against the embedded broker: single node and three nodes, every compression codec,
 * leadership moves and injected errors, and the admin client.
 */
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { afterEach, describe, it } from 'node:test'
import { Admin } from '../../src/client/admin/admin.js'
import { Consumer } from '../../src/client/consumer/consumer.js'
import { Producer } from '../../src/client/producer/producer.js'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { RESPONSE_CHANNEL, type ResponseEvent } from '../../src/net/diagnostics.js'
import { NetworkError } from '../../src/net/errors.js'
import { KafkaError, KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { Produce } from '../../src/protocol/generated/index.js'
import type { CompressionCodec } from '../../src/protocol/records/index.js'
import { take } from './helpers/take.js'

const open: Array<{ close(): Promise<void> }> = []
const brokers: EmbeddedBroker[] = []

async function broker(nodes = 1): Promise<EmbeddedBroker> {
  const b = await startBroker({ nodes, port: 0, memory: true })
  brokers.push(b)
  return b
}

function track<T extends { close(): Promise<void> }>(client: T): T {
  open.push(client)
  return client
}


/** Waits for a condition on broker state, checking every few milliseconds, up to a deadline. */
async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()))
  await Promise.all(brokers.splice(0).map((b) => b.stop()))
})

describe('client against the embedded broker', () => {
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as CompressionCodec[]) {
    it(`round-trips records with ${compression} compression`, async () => {
      const b = await broker()
      b.createTopic('rt', { partitions: 2 })
      const producer = track(new Producer({ bootstrapServers: b.bootstrap, compression, lingerMs: 2 }))
      const sent = await Promise.all(
        Array.from({ length: 500 }, (_, i) => producer.send({ topic: 'rt', key: `key-${i % 17}`, value: `value ${i} `.repeat(3), headers: { n: String(i) } })),
      )
      const consumer = track(new Consumer({ bootstrapServers: b.bootstrap, autoOffsetReset: 'earliest' }))
      await consumer.assign([
        { topic: 'rt', partition: 0 },
        { topic: 'rt', partition: 1 },
      ])
      const received = await take(consumer, 500)
      const byKey = new Map(received.map((r) => [`${r.partition}:${r.offset}`, r]))
      for (let i = 0; i < sent.length; i++) {
        const meta = sent[i]!
        const record = byKey.get(`${meta.partition}:${meta.offset}`)
        assert.ok(record, `record ${i} missing`)
        assert.equal(record.value?.toString(), `value ${i} `.repeat(3))
        assert.equal(record.key?.toString(), `key-${i % 17}`)
        assert.equal(record.headers[0]?.value?.toString(), String(i))
      }
    })
  }

  it('three nodes: partitions led by different nodes, leadership moves and injected errors', async () => {
    const b = await broker(3)
    b.createTopic('multi', { partitions: 6, replicationFactor: 3 })
    const producer = track(new Producer({ bootstrapServers: b.bootstrap, lingerMs: 1, retryBackoffMs: 10 }))
    const perPartition = 50
    const first = await Promise.all(
      Array.from({ length: 6 * perPartition }, (_, i) => producer.send({ topic: 'multi', partition: i % 6, value: `a${Math.floor(i / 6)}` })),
    )
    assert.equal(first.length, 300)
    // Move every leader and make the next Produce requests fail retriably: the producer must
    // follow the leaders and retry without duplicating or reordering anything.
    for (let p = 0; p < 6; p++) b.faults.moveLeader('multi', p, (p + 1) % 3)
    b.faults.failNext(Produce, KafkaErrorCode.NOT_ENOUGH_REPLICAS, { count: 3 })
    await Promise.all(Array.from({ length: 6 * perPartition }, (_, i) => producer.send({ topic: 'multi', partition: i % 6, value: `b${Math.floor(i / 6)}` })))
    const consumer = track(new Consumer({ bootstrapServers: b.bootstrap, autoOffsetReset: 'earliest' }))
    await consumer.assign(Array.from({ length: 6 }, (_, partition) => ({ topic: 'multi', partition })))
    const records = await take(consumer, 6 * perPartition * 2)
    for (let p = 0; p < 6; p++) {
      const values = records.filter((r) => r.partition === p).map((r) => r.value?.toString())
      const expected = [...Array.from({ length: perPartition }, (_, i) => `a${i}`), ...Array.from({ length: perPartition }, (_, i) => `b${i}`)]
      assert.deepEqual(values, expected, `partition ${p}`)
      assert.equal(b.offsets('multi', p).logEndOffset, perPartition * 2)
    }
  })

  it('a connection cut after the broker appended but before it answered: the retry is not written twice', async () => {
    const b = await broker(3)
    b.createTopic('cut', { partitions: 3, replicationFactor: 3 })
    const producer = track(new Producer({ bootstrapServers: b.bootstrap, lingerMs: 0, retryBackoffMs: 5, reconnectBackoffMs: 5 }))
    await Promise.all([0, 1, 2].map((partition) => producer.send({ topic: 'cut', partition, value: 'r0' })))
    let lostProduces = 0
    const onResponse = (message: unknown): void => {
      const event = message as ResponseEvent
      if (event.apiName === 'Produce' && event.error instanceof NetworkError) lostProduces++
    }
    diagnostics.subscribe(RESPONSE_CHANNEL, onResponse)
    try {
      for (let round = 1; round <= 3; round++) {
        // Hold Produce responses, wait until the broker has appended, then cut every connection:
        // the producer cannot know the records were written and must retry.
        const release = b.faults.delay(Produce, 5_000)
        const sends = [0, 1, 2].map((partition) => producer.send({ topic: 'cut', partition, value: `r${round}` }))
        await until(() => [0, 1, 2].every((p) => b.offsets('cut', p).logEndOffset === round + 1))
        release()
        for (let node = 0; node < 3; node++) b.faults.dropConnections(node)
        await Promise.all(sends)
      }
    } finally {
      diagnostics.unsubscribe(RESPONSE_CHANNEL, onResponse)
    }
    assert.ok(lostProduces >= 3, `expected Produce requests lost to the cuts, saw ${lostProduces}`)
    const consumer = track(new Consumer({ bootstrapServers: b.bootstrap, autoOffsetReset: 'earliest' }))
    await consumer.assign([0, 1, 2].map((partition) => ({ topic: 'cut', partition })))
    const records = await take(consumer, 12)
    for (let p = 0; p < 3; p++) {
      assert.deepEqual(
        records.filter((r) => r.partition === p).map((r) => r.value?.toString()),
        ['r0', 'r1', 'r2', 'r3'],
      )
      assert.equal(b.offsets('cut', p).logEndOffset, 4)
    }
  })

  it('a fatal produce error surfaces and later sends still succeed', async () => {
    const b = await broker()
    b.createTopic('small', { partitions: 1, configs: { 'max.message.bytes': '1000' } })
    const producer = track(new Producer({ bootstrapServers: b.bootstrap, lingerMs: 0 }))
    await assert.rejects(producer.send({ topic: 'small', value: 'x'.repeat(5000) }), (e: unknown) => e instanceof KafkaError && e.errorCode === KafkaErrorCode.MESSAGE_TOO_LARGE && e.topic === 'small')
    const ok = await producer.send({ topic: 'small', value: 'fits' })
    assert.equal(ok.offset, 0n)
  })

  it('the consumer survives dropped connections', async () => {
    const b = await broker()
    b.createTopic('drop', { partitions: 1 })
    const producer = track(new Producer({ bootstrapServers: b.bootstrap, lingerMs: 0 }))
    const consumer = track(new Consumer({ bootstrapServers: b.bootstrap, autoOffsetReset: 'earliest', retryBackoffMs: 10 }))
    await producer.send({ topic: 'drop', value: 'one' })
    await consumer.assign([{ topic: 'drop', partition: 0 }])
    await take(consumer, 1)
    b.faults.dropConnections(0)
    await producer.send({ topic: 'drop', value: 'two' })
    const [record] = await take(consumer, 1)
    assert.equal(record?.value?.toString(), 'two')
  })

  it('admin: create, describe, list offsets, delete records, create partitions, delete topics', async () => {
    const b = await broker(3)
    const admin = track(new Admin({ bootstrapServers: b.bootstrap }))
    await admin.createTopics([{ name: 'adm', partitions: 2, replicationFactor: 1, configs: { 'retention.ms': '3600000' } }])
    await assert.rejects(admin.createTopics([{ name: 'adm', partitions: 1 }]), (e: unknown) => e instanceof KafkaError && e.errorCode === KafkaErrorCode.TOPIC_ALREADY_EXISTS)
    assert.ok((await admin.listTopics()).includes('adm'))
    const cluster = await admin.describeCluster()
    assert.equal(cluster.brokers.length, 3)
    assert.equal(cluster.clusterId, b.clusterId)
    const [configs] = await admin.describeConfigs([{ type: 'topic', name: 'adm' }])
    assert.equal(configs?.configs['retention.ms']?.value, '3600000')

    const producer = track(new Producer({ bootstrapServers: b.bootstrap, lingerMs: 0 }))
    const before = Date.now()
    for (let i = 0; i < 5; i++) await producer.send({ topic: 'adm', partition: 0, value: `${i}`, timestamp: before + i * 1000 })
    assert.deepEqual(
      (await admin.listOffsets('adm', 'latest')).map((o) => o.offset),
      [5n, 0n],
    )
    assert.deepEqual(
      (await admin.listOffsets('adm', 'earliest')).map((o) => o.offset),
      [0n, 0n],
    )
    const [byTime] = await admin.listOffsets('adm', { timestamp: before + 2500 })
    assert.equal(byTime?.offset, 3n)
    assert.deepEqual(await admin.deleteRecords('adm', [{ partition: 0, offset: 2n }]), [{ partition: 0, lowWatermark: 2n }])
    assert.equal((await admin.listOffsets('adm', 'earliest'))[0]?.offset, 2n)

    await admin.createPartitions('adm', 4)
    assert.equal((await admin.listOffsets('adm', 'latest')).length, 4)
    await admin.deleteTopics(['adm'])
    assert.ok(!(await admin.listTopics()).includes('adm'))
  })

  it('admin: list and describe groups, fetch offsets of an unknown group', async () => {
    const b = await broker()
    b.createTopic('g', { partitions: 1 })
    const admin = track(new Admin({ bootstrapServers: b.bootstrap }))
    assert.deepEqual(await admin.listGroups(), [])
    const [group] = await admin.describeGroups(['nobody'])
    assert.equal(group?.groupId, 'nobody')
    assert.equal(group?.members.length, 0)
    const offsets = await admin.fetchOffsets('nobody', [{ topic: 'g', partitions: [0] }])
    assert.deepEqual(offsets, [{ topic: 'g', partition: 0, offset: -1n, metadata: offsets[0]?.metadata ?? null }])
  })
})
