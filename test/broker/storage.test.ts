/**
 * Disk storage: acknowledged records survive a restart; a segment torn mid-batch by a crash is cut
 * back to its last whole batch on recovery; retention deletes whole segments.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { BrokerError, startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Fetch, InitProducerId, Produce } from '../../src/protocol/generated/index.js'
import { TestConnection } from './helpers/connection.js'
import { batchOf, valuesIn } from './helpers/records.js'

async function produce(broker: EmbeddedBroker, topic: string, values: string[]): Promise<bigint> {
  const conn = await TestConnection.open(broker.bootstrap[0]!)
  try {
    const response = await conn.request(Produce, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batchOf(values) }] }] })
    const p = response.responses[0]!.partitionResponses[0]!
    assert.equal(p.errorCode, 0)
    return p.baseOffset
  } finally {
    await conn.close()
  }
}

async function readAll(broker: EmbeddedBroker, topic: string, from = 0n): Promise<string[]> {
  const conn = await TestConnection.open(broker.bootstrap[0]!)
  try {
    const response = await conn.request(Fetch, 12, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: from, partitionMaxBytes: 1 << 20 }] }],
    })
    const data = response.responses[0]!.partitions[0]!
    assert.equal(data.errorCode, 0)
    return valuesIn(data.records).map((r) => r.value)
  } finally {
    await conn.close()
  }
}

describe('disk storage', () => {
  let dir: string
  let broker: EmbeddedBroker | undefined

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'baton-broker-'))
  })
  afterEach(async () => {
    await broker?.stop()
    broker = undefined
    rmSync(dir, { recursive: true, force: true })
  })

  for (const fsync of [false, true]) {
    it(`keeps every acknowledged record, the topic id and the offsets across a restart (fsync ${fsync ? 'on' : 'off'})`, async () => {
      broker = await startBroker({ dataDir: dir, fsync })
      const { id } = broker.createTopic('durable', { partitions: 1 })
      const expected: string[] = []
      for (let i = 0; i < 20; i++) {
        const values = [`a${i}`, `b${i}`, `c${i}`]
        await produce(broker, 'durable', values)
        expected.push(...values)
      }
      await broker.stop()

      broker = await startBroker({ dataDir: dir })
      assert.equal(broker.topic('durable')?.id, id)
      assert.deepEqual(broker.offsets('durable', 0), { logStartOffset: 0, logEndOffset: 60 })
      assert.deepEqual(await readAll(broker, 'durable'), expected)
      assert.equal(await produce(broker, 'durable', ['after']), 60n)
    })
  }

  it('cuts a torn tail back to the last whole batch and keeps serving', async () => {
    broker = await startBroker({ dataDir: dir })
    broker.createTopic('torn', { partitions: 1 })
    await produce(broker, 'torn', ['one', 'two'])
    await produce(broker, 'torn', ['three'])
    await produce(broker, 'torn', ['four', 'five', 'six'])
    await broker.stop()

    const partitionDir = join(dir, 'torn-0')
    const segment = join(partitionDir, readdirSync(partitionDir).find((name) => name.endsWith('.log'))!)
    truncateSync(segment, statSync(segment).size - 7)

    broker = await startBroker({ dataDir: dir })
    assert.deepEqual(broker.offsets('torn', 0), { logStartOffset: 0, logEndOffset: 3 })
    assert.deepEqual(await readAll(broker, 'torn'), ['one', 'two', 'three'])
    assert.equal(await produce(broker, 'torn', ['seven']), 3n)
    assert.deepEqual(await readAll(broker, 'torn'), ['one', 'two', 'three', 'seven'])
  })

  it('drops a batch whose CRC does not match on recovery', async () => {
    broker = await startBroker({ dataDir: dir })
    broker.createTopic('crc', { partitions: 1 })
    await produce(broker, 'crc', ['good'])
    await produce(broker, 'crc', ['bad'])
    await broker.stop()

    const partitionDir = join(dir, 'crc-0')
    const segment = join(partitionDir, readdirSync(partitionDir).find((name) => name.endsWith('.log'))!)
    // Flip the last byte of the second batch: inside its CRC-covered records.
    const size = statSync(segment).size
    const bytes = readFileSync(segment)
    bytes[size - 1] = bytes[size - 1]! ^ 0xff
    writeFileSync(segment, bytes)

    broker = await startBroker({ dataDir: dir })
    assert.deepEqual(await readAll(broker, 'crc'), ['good'])
  })

  it('deletes whole segments by retention.bytes, moving the log start offset', async () => {
    broker = await startBroker({ dataDir: dir })
    broker.createTopic('small', { partitions: 1, configs: { 'segment.bytes': '200', 'retention.bytes': '400' } })
    for (let i = 0; i < 20; i++) await produce(broker, 'small', [`record-${i}`.padEnd(60, '.')])
    const before = readdirSync(join(dir, 'small-0')).filter((n) => n.endsWith('.log')).length
    broker.applyRetention()
    const after = readdirSync(join(dir, 'small-0')).filter((n) => n.endsWith('.log')).length
    assert.ok(after < before, `segments went from ${before} to ${after}`)
    const { logStartOffset, logEndOffset } = broker.offsets('small', 0)
    assert.ok(logStartOffset > 0)
    assert.equal(logEndOffset, 20)
    assert.equal((await readAll(broker, 'small', BigInt(logStartOffset)))[0], `record-${logStartOffset}`.padEnd(60, '.'))
  })

  it('deletes segments whose newest record is older than retention.ms, keeping the offsets', async () => {
    broker = await startBroker({ dataDir: dir })
    broker.createTopic('aged', { partitions: 1, configs: { 'segment.bytes': '150', 'retention.ms': '60000' } })
    const hourAgo = Date.now() - 3_600_000
    const conn = await TestConnection.open(broker.bootstrap[0]!)
    try {
      for (let i = 0; i < 5; i++) {
        const response = await conn.request(Produce, 9, {
          acks: 1,
          timeoutMs: 1000,
          topicData: [{ name: 'aged', partitionData: [{ index: 0, records: batchOf([`old-${i}`.padEnd(80, '.')], { timestamp: hourAgo }) }] }],
        })
        assert.equal(response.responses[0]?.partitionResponses[0]?.errorCode, 0)
      }
    } finally {
      await conn.close()
    }
    broker.applyRetention()
    assert.deepEqual(broker.offsets('aged', 0), { logStartOffset: 5, logEndOffset: 5 })
    assert.equal(await produce(broker, 'aged', ['fresh']), 5n)
    assert.deepEqual(await readAll(broker, 'aged', 5n), ['fresh'])
  })

  it('rebuilds idempotent producer state on recovery: a retry after restart is still a duplicate', async () => {
    broker = await startBroker({ dataDir: dir })
    broker.createTopic('idem', { partitions: 1 })
    let conn = await TestConnection.open(broker.bootstrap[0]!)
    const { producerId, producerEpoch } = await conn.request(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000 })
    const batch = batchOf(['once'], { producerId, producerEpoch, baseSequence: 0 })
    const send = async (): Promise<bigint> => {
      const response = await conn.request(Produce, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'idem', partitionData: [{ index: 0, records: Buffer.from(batch) }] }] })
      assert.equal(response.responses[0]?.partitionResponses[0]?.errorCode, 0)
      return response.responses[0]?.partitionResponses[0]?.baseOffset ?? -1n
    }
    assert.equal(await send(), 0n)
    await conn.close()
    await broker.stop()

    broker = await startBroker({ dataDir: dir })
    conn = await TestConnection.open(broker.bootstrap[0]!)
    try {
      assert.equal(await send(), 0n)
      assert.equal(broker.offsets('idem', 0).logEndOffset, 1)
      const next = await conn.request(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000 })
      assert.ok(next.producerId > producerId, 'recovered producer ids are not handed out again')
    } finally {
      await conn.close()
    }
  })

  it('locks the data directory against a second broker until the first stops', async () => {
    broker = await startBroker({ dataDir: dir })
    await assert.rejects(startBroker({ dataDir: dir }), (error: unknown) => error instanceof BrokerError && error.code === 'BROKER_STORAGE')
    await broker.stop()
    broker = await startBroker({ dataDir: dir })
  })
})
