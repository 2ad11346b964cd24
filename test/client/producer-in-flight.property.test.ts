/**
 * Invariant: with up to five batches in flight per partition, the idempotent producer writes every
 * acknowledged record exactly once, and each partition's log holds its records in the order they
 * were sent (by send() or sendBatch(), with and without linger), whatever the broker does in between: failed produce responses (retriable, not written;
 * UNKNOWN_PRODUCER_ID and OUT_OF_ORDER_SEQUENCE_NUMBER, which force an epoch bump; MESSAGE_TOO_LARGE,
 * which splits a batch), delayed responses, and dropped connections (batches in doubt). A record
 * that fails may or may not be in the log, but never twice and never out of order.
 *
 * Found with it: a batch whose answer was lost (dropped connection) and whose resend then met
 * OUT_OF_ORDER_SEQUENCE_NUMBER was resent under a bumped epoch and written twice; and a bump made
 * while another partition had a batch in doubt did the same; and a batch in doubt whose resend met an
 * error (MESSAGE_TOO_LARGE, then split; or a retriable one, then UNKNOWN_PRODUCER_ID) lost its doubt
 * and was resent in halves or under a new producer id, and written twice.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Consumer } from '../../src/client/consumer/consumer.js'
import { Producer } from '../../src/client/producer/producer.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { Produce } from '../../src/protocol/generated/index.js'
import { take } from './helpers/take.js'

const PARTITIONS = 3

type Action =
  | { kind: 'send'; partition: number; count: number; batch: boolean }
  | { kind: 'fail'; code: number; count: number }
  | { kind: 'delay'; ms: number; count: number }
  | { kind: 'drop' }
  | { kind: 'pause'; ms: number }

const FAULT_CODES = [
  KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
  KafkaErrorCode.NOT_ENOUGH_REPLICAS,
  KafkaErrorCode.REQUEST_TIMED_OUT,
  KafkaErrorCode.UNKNOWN_PRODUCER_ID,
  KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  KafkaErrorCode.MESSAGE_TOO_LARGE,
]

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    // batch: the records go in one sendBatch() call (no linger, one promise for all), else a send() each.
    arbitrary: fc.record({ kind: fc.constant('send' as const), partition: fc.integer({ min: 0, max: PARTITIONS - 1 }), count: fc.integer({ min: 1, max: 40 }), batch: fc.boolean() }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fail' as const), code: fc.constantFrom(...FAULT_CODES), count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delay' as const), ms: fc.integer({ min: 1, max: 40 }), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'drop' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 15 }) }) },
)

/**
 * Lets requests reach the broker and answers come back before the next step, so that faults land
 * at every stage of a burst: part of the schedule being drawn, not a wait for anything.
 */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => (ms === 0 ? setImmediate(resolve) : setTimeout(resolve, ms)))
}

describe('idempotent producer with five batches in flight, under injected faults', () => {
  let broker: EmbeddedBroker
  let run = 0

  before(async () => {
    broker = await startBroker({ nodes: 1, port: 0, memory: true })
  })
  after(async () => {
    await broker.stop()
  })

  it('writes every acknowledged record once, in send order per partition', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 30 }), fc.constantFrom(0, 5), async (actions, lingerMs) => {
        const topic = `in-flight-${run++}`
        broker.createTopic(topic, { partitions: PARTITIONS })
        // Small batches: many batches per partition, several of them on the wire at once.
        const producer = new Producer({ bootstrapServers: broker.bootstrap, batchSize: 200, lingerMs, retryBackoffMs: 2, retryBackoffMaxMs: 20, deliveryTimeoutMs: 60_000 })
        const sends: Array<{ partition: number; value: string; outcome: Promise<bigint | null> }> = []
        const next = new Array<number>(PARTITIONS).fill(0)
        try {
          await producer.connect()
          for (const step of actions) {
            if (step.kind === 'send' && step.batch) {
              const values = Array.from({ length: step.count }, () => `${step.partition}:${next[step.partition]!++}`)
              // One promise for the call: when it rejects, none of its records counts as acknowledged.
              const call = producer.sendBatch(values.map((value) => ({ topic, partition: step.partition, value }))).then(
                (metadata) => metadata.map((m) => m.offset),
                () => null,
              )
              values.forEach((value, i) => sends.push({ partition: step.partition, value, outcome: call.then((offsets) => offsets?.[i] ?? null) }))
            } else if (step.kind === 'send') {
              for (let i = 0; i < step.count; i++) {
                const value = `${step.partition}:${next[step.partition]!++}`
                const outcome = producer.send({ topic, partition: step.partition, value }).then(
                  (metadata) => metadata.offset,
                  () => null,
                )
                sends.push({ partition: step.partition, value, outcome })
              }
            } else if (step.kind === 'fail') broker.faults.failNext(Produce, step.code, { count: step.count })
            else if (step.kind === 'delay') broker.faults.delay(Produce, step.ms, { count: step.count })
            else if (step.kind === 'drop') broker.faults.dropConnections(0)
            else await pause(step.ms)
          }
          const offsets = await Promise.all(sends.map((s) => s.outcome))
          broker.faults.clear()

          const logs: string[][] = []
          for (let partition = 0; partition < PARTITIONS; partition++) {
            const end = Number(broker.offsets(topic, partition).logEndOffset)
            const consumer = new Consumer({ bootstrapServers: broker.bootstrap, autoOffsetReset: 'earliest' })
            try {
              await consumer.assign([{ topic, partition }])
              logs.push((await take(consumer, end)).map((r) => r.value!.toString()))
            } finally {
              await consumer.close()
            }
          }
          for (let partition = 0; partition < PARTITIONS; partition++) {
            const log = logs[partition]!
            assert.equal(new Set(log).size, log.length, `partition ${partition} holds a record twice: ${log.join(' ')}`)
            const order = log.map((v) => Number(v.split(':')[1]))
            assert.deepEqual(order, [...order].sort((a, b) => a - b), `partition ${partition} is out of send order: ${log.join(' ')}`)
          }
          sends.forEach((send, i) => {
            const offset = offsets[i]
            if (offset === null) return
            assert.equal(logs[send.partition]![Number(offset)], send.value, `acknowledged ${send.value} at offset ${offset}, which holds ${logs[send.partition]![Number(offset)]}`)
          })
        } finally {
          broker.faults.clear()
          await producer.close(5_000)
        }
      }),
      { numRuns: 40 },
    )
  })
})
