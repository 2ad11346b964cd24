import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { ProducedRecord } from '../../src/processing/consumer-port.js'
import { baton } from '../../src/processing/app.js'
import { DLT_HEADERS } from '../../src/processing/dead-letter.js'
import { silentLogger } from '../../src/processing/logger.js'
import { FakeCluster, FakeProducer } from '../../src/processing/testing/fake-consumer.js'
import { deferred, TP0, within } from './helpers.js'

describe('batch handlers and ctx.produce', () => {
  const stops: (() => Promise<unknown>)[] = []
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()))
  })

  function setup() {
    const cluster = new FakeCluster()
    cluster.createTopic('orders', 1)
    const producer = new FakeProducer()
    const consumer = cluster.member('a')
    const app = baton({ groupId: 'g', consumer, producer, logger: silentLogger, signals: false })
    stops.push(() => app.stop())
    return { cluster, producer, consumer, app }
  }

  it('hands queued records over in offset-ordered batches of at most maxRecords and commits them', async () => {
    const { cluster, consumer, app } = setup()
    for (let i = 0; i < 7; i++) cluster.produce('orders', 0, { value: `v${i}` })
    const batches: bigint[][] = []
    const all = deferred()
    app.consumeBatch(
      'orders',
      (records) => {
        batches.push(records.map((r) => r.offset))
        if (batches.flat().length === 7) all.resolve()
        return Promise.resolve()
      },
      { maxRecords: 3 },
    )
    await app.start()
    await consumer.assign([TP0])
    await within(all.promise)
    await app.stop()
    assert.ok(batches.every((b) => b.length <= 3))
    assert.deepEqual(batches.flat(), [0n, 1n, 2n, 3n, 4n, 5n, 6n])
    assert.equal(cluster.committedOffset('orders', 0), 7n)
  })

  it('dead-letters every record of a batch that keeps failing', async () => {
    const { cluster, producer, consumer, app } = setup()
    for (let i = 0; i < 2; i++) cluster.produce('orders', 0, { value: `v${i}` })
    app.consumeBatch('orders', () => Promise.reject(new Error('bulk insert failed')), {
      maxRecords: 10,
      retries: { retries: 1, initialBackoffMs: 1, maxBackoffMs: 1 },
    })
    await app.start()
    const second = new Promise<void>((resolve) => producer.on('sent', () => producer.sent.length === 2 && resolve()))
    await consumer.assign([TP0])
    await within(second)
    assert.deepEqual(
      producer.sent.map((r) => r.headers?.find((h) => h.key === DLT_HEADERS.sourceOffset)?.value),
      ['0', '1'],
    )
  })

  it('ctx.produce sends through the app producer', async () => {
    const { cluster, producer, consumer, app } = setup()
    cluster.produce('orders', 0, { key: 'o-1', value: '{"total":5}' })
    app.consume('orders', (record, ctx) => ctx.produce({ topic: 'invoices', key: record.key, value: `invoice for ${String(record.value)}` }))
    await app.start()
    const sent = once(producer, 'sent') as Promise<[ProducedRecord]>
    await consumer.assign([TP0])
    const [invoice] = await within(sent)
    assert.equal(invoice.topic, 'invoices')
    assert.equal(String(invoice.key), 'o-1')
  })
})
