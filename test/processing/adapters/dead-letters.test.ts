/**
 * `baton({ brokers, groupId })` with nothing injected: baton's own consumer and producer.
 * Invariants: a record that keeps failing is retried, then written to the real dead-letter topic
 * with its key, value and headers plus the baton-dlt-* headers; a non-retriable error (and a value
 * that cannot be deserialized) goes there at once; the partition moves on past them (committed to
 * its end), so a poison record never blocks it and is never lost. The producer that writes them
 * takes every client option under `kafka` (maxApiVersions too), as the consumer does.
 */
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { after, before, describe, it } from 'node:test'
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import { Consumer, type ConsumerRecord } from '../../../src/client/consumer/consumer.js'
import { REQUEST_CHANNEL, type RequestEvent } from '../../../src/net/diagnostics.js'
import { baton } from '../../../src/processing/app.js'
import { NonRetriableError } from '../../../src/processing/errors.js'
import { silentLogger } from '../../../src/processing/logger.js'
import { Condition, kafkaTimings, produce, REBALANCE_TIMEOUT_MS, startTestBroker } from '../../client/group-consumer/helpers.js'

describe('retries and dead letters on the built-in client', () => {
  let broker: EmbeddedBroker

  before(async () => {
    broker = await startTestBroker()
  })

  after(async () => {
    await broker.stop()
  })

  it('retries, then dead-letters to a real topic with the source headers; the partition is committed past them', async () => {
    broker.createTopic('payments', { partitions: 1 })
    broker.createTopic('payments.DLT', { partitions: 1 })
    await produce(broker.bootstrap, 'payments', 1, 10)
    const condition = new Condition()
    const attempts = new Map<string, number>()
    const done: string[] = []
    const app = baton({
      brokers: broker.bootstrap,
      groupId: 'payments-group',
      kafka: { ...kafkaTimings(), clientId: 'payments-app' },
      rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
      drainTimeoutMs: 2_000,
      commitIntervalMs: 100,
      logger: silentLogger,
      signals: false,
    })
    app.consume(
      'payments',
      (record) => {
        const value = record.value
        attempts.set(value, (attempts.get(value) ?? 0) + 1)
        condition.poke()
        if (value === 'p0-3') throw new Error('the payment service is down')
        if (value === 'p0-5') throw new NonRetriableError('card number is invalid')
        done.push(value)
        return Promise.resolve()
      },
      {
        retries: { retries: 2, initialBackoffMs: 5, maxBackoffMs: 10 },
        deserialize: (value: Buffer | null) => {
          const text = String(value)
          if (text === 'p0-7') throw new SyntaxError('not a payment')
          return text
        },
      },
    )
    await app.start()
    const dlt = new Consumer({ bootstrapServers: broker.bootstrap, fetchMaxWaitMs: 50 })
    try {
      await dlt.assign([{ topic: 'payments.DLT', partition: 0, offset: 0n }])
      const parked: ConsumerRecord[] = []
      const reading = (async () => {
        for await (const record of dlt) {
          parked.push(record)
          condition.poke()
        }
      })()
      await condition.until(() => parked.length === 3, 'three records reach the dead-letter topic')
      await condition.until(() => done.length === 7, 'the other records are handled')
      const result = await app.stop()
      assert.equal(result.exitCode, 0)
      assert.equal(attempts.get('p0-3'), 3, 'a retriable failure is tried 1 + 2 times')
      assert.equal(attempts.get('p0-5'), 1, 'a non-retriable one once')
      assert.equal(attempts.has('p0-7'), false, 'an undecodable value never reaches the handler')
      const header = (r: ConsumerRecord, key: string): string | undefined => r.headers.find((h) => h.key === key)?.value?.toString()
      assert.deepEqual(
        parked.map((r) => [String(r.value), String(r.key), header(r, 'baton-dlt-source-offset'), header(r, 'baton-dlt-attempts'), header(r, 'baton-dlt-error-class')]),
        [
          ['p0-3', 'k3', '3', '3', 'Error'],
          ['p0-5', 'k5', '5', '1', 'NonRetriableError'],
          ['p0-7', 'k0', '7', '1', 'DeserializationError'],
        ],
      )
      assert.ok(parked.every((r) => header(r, 'baton-dlt-source-topic') === 'payments' && header(r, 'baton-dlt-source-partition') === '0'))
      const committed = await committedOffset(broker, 'payments-group')
      assert.equal(committed, 10n, 'committed past the dead-lettered records')
      await dlt.close()
      await reading
    } finally {
      await dlt.close()
      await app.stop()
    }
  })

  it('the producer takes every client option of kafka, as the consumer does: its Produce requests keep to kafka.maxApiVersions', async () => {
    broker.createTopic('refunds', { partitions: 1 })
    broker.createTopic('refunds.DLT', { partitions: 1 })
    await produce(broker.bootstrap, 'refunds', 1, 3)
    const produceVersions: number[] = []
    const onRequest = (message: unknown): void => {
      const event = message as RequestEvent
      if (event.apiName === 'Produce') produceVersions.push(event.apiVersion)
    }
    diagnostics.subscribe(REQUEST_CHANNEL, onRequest)
    const condition = new Condition()
    const app = baton({
      brokers: broker.bootstrap,
      groupId: 'refunds-group',
      kafka: { ...kafkaTimings(), maxApiVersions: { Produce: 3 } },
      rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
      logger: silentLogger,
      signals: false,
    })
    let handled = 0
    app.consume('refunds', (record) => {
      handled++
      condition.poke()
      if (String(record.value) === 'p0-1') throw new NonRetriableError('refund already issued')
      return Promise.resolve()
    })
    try {
      await app.start()
      await condition.until(() => handled === 3 && produceVersions.length > 0, 'the records handled and one dead-lettered')
      assert.equal((await app.stop()).exitCode, 0)
    } finally {
      diagnostics.unsubscribe(REQUEST_CHANNEL, onRequest)
    }
    assert.ok(produceVersions.every((v) => v <= 3), `Produce versions sent: ${produceVersions.join(', ')}`)
  })
})

async function committedOffset(broker: EmbeddedBroker, groupId: string): Promise<bigint | undefined> {
  const { Admin } = await import('../../../src/client/admin/admin.js')
  const admin = new Admin({ bootstrapServers: broker.bootstrap })
  try {
    const offsets = await admin.fetchOffsets(groupId, [{ topic: 'payments', partitions: [0] }])
    return offsets[0]?.offset
  } finally {
    await admin.close()
  }
}
