import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { FetchedRecord, ProducedRecord } from '../../src/processing/consumer-port.js'
import { Job } from '../../src/processing/job.js'
import { deadLetter, DLT_HEADERS } from '../../src/processing/dead-letter.js'
import { DeserializationError, NonRetriableError } from '../../src/processing/errors.js'
import type { ConsumedRecord, Work } from '../../src/processing/handler.js'
import { CHANNELS, type DeadLetteredEvent, type RecordFailedEvent } from '../../src/processing/instrumentation.js'
import { silentLogger, type Logger } from '../../src/processing/logger.js'
import { backoffMs, retry } from '../../src/processing/retry.js'
import { FakeProducer } from '../../src/processing/testing/fake-consumer.js'
import { deferred, group, listen, TP0, within, type Group } from './helpers.js'

function header(record: ProducedRecord, key: string): string | undefined {
  const value = record.headers?.find((h) => h.key === key)?.value
  return value === undefined || value === null ? undefined : String(value)
}

const fastRetries = { retries: 2, initialBackoffMs: 1, maxBackoffMs: 2 }

describe('retries and dead letters', () => {
  let g: Group | undefined
  afterEach(async () => {
    await g?.close()
    g = undefined
  })

  it('retries a failing record, then dead-letters it with its key, value, headers and the failure, and moves on', async () => {
    g = group()
    g.cluster.produce('orders', 0, { key: 'k0', value: 'fine' })
    g.cluster.produce('orders', 0, { key: 'k1', value: 'poison', headers: [{ key: 'trace', value: Buffer.from('t-1') }] })
    g.cluster.produce('orders', 0, { key: 'k2', value: 'fine' })
    const attempts: number[] = []
    const processed: bigint[] = []
    const failures = listen<RecordFailedEvent>(CHANNELS.recordFailed)
    const last = deferred()
    const member = await g.member(
      'a',
      (record, ctx) => {
        if (String(record.value) === 'poison') {
          attempts.push(ctx.attempt)
          return Promise.reject(new TypeError('cannot charge card'))
        }
        processed.push(record.offset)
        if (record.offset === 2n) last.resolve()
        return Promise.resolve()
      },
      { retries: fastRetries },
    )
    try {
      const sent = once(g.producer, 'sent') as Promise<[ProducedRecord]>
      await member.consumer.assign([TP0])
      const [dead] = await within(sent)
      await within(last.promise)
      await member.app.stop()

      assert.deepEqual(attempts, [1, 2, 3], 'the first attempt and two retries')
      assert.equal(dead.topic, 'orders.DLT')
      assert.equal(String(dead.key), 'k1')
      assert.equal(String(dead.value), 'poison')
      assert.equal(header(dead, 'trace'), 't-1', 'original headers kept')
      assert.equal(header(dead, DLT_HEADERS.errorClass), 'TypeError')
      assert.equal(header(dead, DLT_HEADERS.errorMessage), 'cannot charge card')
      assert.equal(header(dead, DLT_HEADERS.sourceTopic), 'orders')
      assert.equal(header(dead, DLT_HEADERS.sourcePartition), '0')
      assert.equal(header(dead, DLT_HEADERS.sourceOffset), '1')
      assert.equal(header(dead, DLT_HEADERS.attempts), '3')
      assert.deepEqual(processed, [0n, 2n], 'the poison record did not block the partition')
      assert.equal(g.cluster.committedOffset('orders', 0), 3n, 'committed past the dead-lettered record')
      assert.deepEqual(
        failures.messages.map((m) => [m.offset, m.attempt, m.willRetry]),
        [
          [1n, 1, true],
          [1n, 2, true],
          [1n, 3, false],
        ],
      )
    } finally {
      failures.stop()
    }
  })

  it('sends a non-retriable error straight to the dead letters, and logs it once', async () => {
    g = group()
    g.cluster.produce('orders', 0, { value: 'x' })
    let calls = 0
    const events = listen<DeadLetteredEvent>(CHANNELS.deadLettered)
    const logged: { level: string; fields: { err?: unknown } }[] = []
    const at = (level: string) => (fields: object) => void logged.push({ level, fields })
    const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger }
    const member = await g.member(
      'a',
      () => {
        calls++
        return Promise.reject(new NonRetriableError('order references a deleted customer'))
      },
      { retries: fastRetries, deadLetter: 'orders-failed' },
      { logger },
    )
    try {
      const sent = once(g.producer, 'sent') as Promise<[ProducedRecord]>
      await member.consumer.assign([TP0])
      const [dead] = await within(sent)
      assert.equal(calls, 1)
      assert.equal(dead.topic, 'orders-failed')
      assert.equal(header(dead, DLT_HEADERS.errorCode), 'PROCESSING_NON_RETRIABLE')
      assert.equal(header(dead, DLT_HEADERS.attempts), '1')
      assert.equal(events.messages[0]?.deadLetterTopic, 'orders-failed')
      assert.equal(logged.filter((l) => l.fields.err instanceof NonRetriableError).length, 1, 'the failure is logged once, by the step that dead-letters it')
    } finally {
      events.stop()
    }
  })

  it('dead-letters a record that cannot be deserialized, with its original bytes, without retrying', async () => {
    g = group()
    g.cluster.produce('orders', 0, { value: '{not json' })
    g.cluster.produce('orders', 0, { value: '{"id":7}' })
    const seen: unknown[] = []
    const done = deferred()
    const member = await g.member(
      'a',
      (record: ConsumedRecord<unknown>) => {
        seen.push(record.value)
        done.resolve()
        return Promise.resolve()
      },
      { retries: fastRetries, deserialize: (value) => JSON.parse(String(value)) as unknown },
    )
    const sent = once(g.producer, 'sent') as Promise<[ProducedRecord]>
    await member.consumer.assign([TP0])
    const [dead] = await within(sent)
    await within(done.promise)
    assert.equal(String(dead.value), '{not json')
    assert.equal(header(dead, DLT_HEADERS.errorClass), DeserializationError.name)
    assert.equal(header(dead, DLT_HEADERS.attempts), '1')
    assert.deepEqual(seen, [{ id: 7 }])
  })

  it('treats a handler that throws synchronously like one that rejects', async () => {
    g = group()
    g.cluster.produce('orders', 0, { value: 'x' })
    let calls = 0
    const member = await g.member(
      'a',
      () => {
        calls++
        throw new RangeError('not async, and throws')
      },
      { retries: fastRetries },
    )
    const sent = once(g.producer, 'sent') as Promise<[ProducedRecord]>
    await member.consumer.assign([TP0])
    const [dead] = await within(sent)
    assert.equal(calls, 3)
    assert.equal(header(dead, DLT_HEADERS.errorClass), 'RangeError')
  })

  it('with dead letters off, skips a record once its retries are spent', async () => {
    g = group()
    g.cluster.produce('orders', 0, { value: 'poison' })
    g.cluster.produce('orders', 0, { value: 'fine' })
    const done = deferred()
    const member = await g.member(
      'a',
      (record) => {
        if (String(record.value) === 'poison') return Promise.reject(new Error('bad'))
        done.resolve()
        return Promise.resolve()
      },
      { retries: { retries: 1, initialBackoffMs: 1, maxBackoffMs: 1 }, deadLetter: false },
    )
    await member.consumer.assign([TP0])
    await within(done.promise)
    await member.app.stop()
    assert.equal(g.cluster.committedOffset('orders', 0), 2n)
    assert.equal(g.producer.sent.length, 0)
  })

  it('stops retrying when the partition is revoked: the record is neither dead-lettered nor committed, so the next owner retries it', async () => {
    g = group()
    g.cluster.produce('orders', 0, { value: 'flaky' })
    const failedOnce = deferred()
    const member = await g.member(
      'a',
      () => {
        failedOnce.resolve()
        return Promise.reject(new Error('downstream unavailable'))
      },
      { retries: { retries: 5, initialBackoffMs: 60_000, maxBackoffMs: 60_000 } },
    )
    await member.consumer.assign([TP0])
    await within(failedOnce.promise)
    await within(member.consumer.revoke([TP0]), 5000, 'the revocation (it must not wait out the backoff)')
    assert.equal(g.producer.sent.length, 0)
    assert.equal(g.cluster.committedOffset('orders', 0), 0n, 'the commit stays at the failing record')

    const retried = deferred<bigint>()
    const next = await g.member('b', (record) => {
      retried.resolve(record.offset)
      return Promise.resolve()
    })
    await next.consumer.assign([TP0])
    assert.equal(await within(retried.promise), 0n)
  })
})

describe('dead-letter middleware', () => {
  it('keeps trying to produce to the dead-letter topic until it succeeds', async () => {
    const producer = new FakeProducer()
    producer.failNext(2)
    let failures = 0
    const step = deadLetter(
      { topic: 'x.DLT', send: (r) => producer.send(r), produceRetryMs: 1 },
      { deadLettered() {}, deadLetterProduceFailed: () => void failures++ },
    )(() => Promise.reject(new Error('boom')))
    const work: Work = { topic: 'x', partition: 3, records: [{ topic: 'x', partition: 3, offset: 9n, timestamp: 0, key: null, value: Buffer.from('v'), headers: [] }] }
    const controller = new AbortController()
    const ctx = jobOf(work, controller.signal, new AbortController().signal)
    await step(work, ctx)
    assert.equal(failures, 2)
    assert.equal(producer.sent.length, 1)
    assert.equal(header(producer.sent[0] as ProducedRecord, DLT_HEADERS.sourcePartition), '3')
  })

  it('leaves an aborted record alone: it will be redelivered, not dead-lettered', async () => {
    const producer = new FakeProducer()
    const controller = new AbortController()
    const work: Work = { topic: 'x', partition: 0, records: [{ topic: 'x', partition: 0, offset: 0n, timestamp: 0, key: null, value: null, headers: [] }] }
    const ctx = jobOf(work, controller.signal, controller.signal)
    const step = deadLetter({ topic: 'x.DLT', send: (r) => producer.send(r) })(() => {
      controller.abort(new Error('deadline'))
      return Promise.reject(new Error('interrupted'))
    })
    await assert.rejects(step(work, ctx), /interrupted/)
    assert.equal(producer.sent.length, 0)
  })
})

describe('retry backoff', () => {
  it('doubles from the initial delay up to the cap', () => {
    const options = { retries: 10, initialBackoffMs: 100, maxBackoffMs: 1000, jitter: 0 }
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffMs(n, options)), [100, 200, 400, 800, 1000])
  })

  it('spreads each delay by at most the jitter fraction', () => {
    const options = { retries: 10, initialBackoffMs: 100, maxBackoffMs: 10_000, jitter: 0.2 }
    assert.equal(backoffMs(1, options, () => 0), 80)
    assert.equal(backoffMs(1, options, () => 0.999999), 120)
  })

  it('gives a retriable error another attempt and reports the attempt number in ctx', async () => {
    const work: Work = { topic: 'x', partition: 0, records: [{ topic: 'x', partition: 0, offset: 0n, timestamp: 0, key: null, value: null, headers: [] }] }
    const ctx = jobOf(work, new AbortController().signal, new AbortController().signal)
    const seen: number[] = []
    await retry({ retries: 3, initialBackoffMs: 1, maxBackoffMs: 1 })((_work, c) => {
      seen.push(c.attempt)
      return c.attempt < 3 ? Promise.reject(new Error('transient')) : Promise.resolve()
    })(work, ctx)
    assert.deepEqual(seen, [1, 2, 3])
  })
})

/** A job over `work`'s first record, with the given signals, as a partition worker would make it. */
function jobOf(work: Work, signal: AbortSignal, revokingSignal: AbortSignal): Job {
  const host = { topic: work.topic, partition: work.partition, signal, revokingSignal, logger: silentLogger, produce: () => Promise.resolve(), pauseByUser() {}, resumeByUser() {}, seekByUser() {} }
  return new Job(host, work.records[0] as FetchedRecord, undefined, undefined)
}
