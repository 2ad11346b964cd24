/**
 * The package's public doors.
 * Invariants: the root exports what an application uses and not the framework's plumbing (ports,
 * adapters, the offset tracker); `baton/testing` gives an application's tests the fakes and an
 * embedded broker that the real client and framework run against; `baton/protocol` exports the
 * messages, frames and records but not the helpers the generated code calls.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as root from '../../src/index.js'
import * as protocol from '../../src/protocol/index.js'
import * as testing from '../../src/testing/index.js'
import { within } from '../processing/helpers.js'

describe('public entries', () => {
  it('the root has baton() and its errors, and none of the plumbing', () => {
    for (const name of ['baton', 'retry', 'deadLetter', 'compose', 'CHANNELS', 'ConfigError', 'StaleGenerationError', 'BatonError', 'KafkaError']) assert.ok(name in root, name)
    for (const name of ['OffsetTracker', 'GroupConsumerPort', 'ClientProducerPort', 'FakeConsumer', 'Processor']) assert.ok(!(name in root), name)
  })

  it('the protocol entry has messages, frames and records, not the codec runtime', () => {
    for (const name of ['Metadata', 'encodeRequest', 'decodeResponse', 'encodeRecordBatch', 'KafkaErrorCode', 'Reader', 'Writer', 'partitionKey']) assert.ok(name in protocol, name)
    for (const name of ['writeString', 'readTaggedFields', 'codec', 'unsupportedField']) assert.ok(!(name in protocol), name)
  })

  it('baton/testing runs an app on the fakes: the test assigns, the app handles and commits on stop', async () => {
    const cluster = new testing.FakeCluster()
    cluster.createTopic('orders', 1)
    cluster.produce('orders', 0, { value: 'one' })
    const consumer = cluster.member('a')
    const app = root.baton({ groupId: 'g', consumer, producer: new testing.FakeProducer(), logger: root.silentLogger, signals: false })
    let handled!: () => void
    const seen = new Promise<void>((resolve) => (handled = resolve))
    const values: string[] = []
    app.consume(
      'orders',
      (record) => {
        values.push(String(record.value))
        handled()
        return Promise.resolve()
      },
      { deadLetter: false },
    )
    await app.start()
    try {
      await consumer.assign([{ topic: 'orders', partition: 0 }])
      await within(seen, 10_000, 'the record handled')
    } finally {
      await app.stop()
    }
    assert.deepEqual(values, ['one'])
    assert.equal(cluster.committedOffset('orders', 0), 1n)
  })

  it('baton/testing starts an embedded broker with the topics asked for, in memory on a free port', async () => {
    const broker = await testing.startTestBroker({ topics: { orders: 3 } })
    try {
      assert.equal(broker.topic('orders')?.leaders.length, 3)
      assert.equal(broker.topic('missing'), undefined)
      assert.match(broker.bootstrap[0] ?? '', /^127\.0\.0\.1:\d+$/)
      assert.notEqual(broker.bootstrap[0], '127.0.0.1:9092')
    } finally {
      await broker.stop()
    }
  })
})
