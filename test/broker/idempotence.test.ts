/**
 * Idempotent producers (KIP-98): a retried batch is acknowledged with its first offset and not
 * appended twice; gaps and stale epochs are refused with Kafka's error codes.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { InitProducerId, Produce } from '../../src/protocol/generated/index.js'
import { TestConnection } from './helpers/connection.js'
import { batchOf } from './helpers/records.js'

describe('idempotent produce', () => {
  let broker: EmbeddedBroker
  let conn: TestConnection

  before(async () => {
    broker = await startBroker()
    conn = await TestConnection.open(broker.bootstrap[0]!)
  })
  after(async () => {
    await conn.close()
    await broker.stop()
  })

  async function send(topic: string, batch: Buffer): Promise<{ errorCode: number; baseOffset: bigint }> {
    const response = await conn.request(Produce, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] })
    return response.responses[0]!.partitionResponses[0]!
  }

  async function newProducer(): Promise<{ producerId: bigint; producerEpoch: number }> {
    const response = await conn.request(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000 })
    assert.equal(response.errorCode, 0)
    return response
  }

  it('acknowledges a duplicate batch with its original offset without appending it', async () => {
    broker.createTopic('dup')
    const { producerId, producerEpoch } = await newProducer()
    const first = batchOf(['a', 'b'], { producerId, producerEpoch, baseSequence: 0 })
    const retry = Buffer.from(first)
    const original = await send('dup', first)
    const duplicate = await send('dup', retry)
    assert.equal(original.errorCode, 0)
    assert.equal(duplicate.errorCode, 0)
    assert.equal(duplicate.baseOffset, original.baseOffset)
    assert.equal(broker.offsets('dup', 0).logEndOffset, 2)
    const next = await send('dup', batchOf(['c'], { producerId, producerEpoch, baseSequence: 2 }))
    assert.equal(next.errorCode, 0)
    assert.equal(next.baseOffset, 2n)
  })

  it('refuses a gap in the sequence with OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
    broker.createTopic('gap')
    const { producerId, producerEpoch } = await newProducer()
    assert.equal((await send('gap', batchOf(['a'], { producerId, producerEpoch, baseSequence: 0 }))).errorCode, 0)
    const gap = await send('gap', batchOf(['c'], { producerId, producerEpoch, baseSequence: 5 }))
    assert.equal(gap.errorCode, KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    assert.equal(broker.offsets('gap', 0).logEndOffset, 1)
  })

  it('refuses a producer the partition has never seen unless it starts at sequence 0', async () => {
    broker.createTopic('fresh')
    const { producerId, producerEpoch } = await newProducer()
    const late = await send('fresh', batchOf(['x'], { producerId, producerEpoch, baseSequence: 7 }))
    assert.equal(late.errorCode, KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
  })

  it('gives a fresh producer id with epoch 0 to a request that carries an id and epoch, as Kafka does without a transactional id', async () => {
    const { producerId, producerEpoch } = await newProducer()
    const again = await conn.request(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId, producerEpoch })
    assert.equal(again.errorCode, 0)
    assert.notEqual(again.producerId, producerId)
    assert.equal(again.producerEpoch, 0)
    // Any id and epoch, even ones this broker never gave out (what @platformatic/kafka sends).
    const blind = await conn.request(InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: 123_456n, producerEpoch: 7 })
    assert.equal(blind.errorCode, 0)
    assert.equal(blind.producerEpoch, 0)
  })

  it('fences an older epoch once the partition has seen a newer one', async () => {
    broker.createTopic('fence')
    const { producerId } = await newProducer()
    assert.equal((await send('fence', batchOf(['a'], { producerId, producerEpoch: 0, baseSequence: 0 }))).errorCode, 0)
    assert.equal((await send('fence', batchOf(['b'], { producerId, producerEpoch: 1, baseSequence: 0 }))).errorCode, 0)
    const stale = await send('fence', batchOf(['c'], { producerId, producerEpoch: 0, baseSequence: 1 }))
    assert.equal(stale.errorCode, KafkaErrorCode.INVALID_PRODUCER_EPOCH)
    assert.equal(broker.offsets('fence', 0).logEndOffset, 2)
  })

  it('gives a new producer id to an idempotent producer that sends an id it does not hold, as Kafka does', async () => {
    // Some clients send producer id 0, epoch 0 on their first call instead of -1/-1.
    const first = await conn.request(InitProducerId, 5, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: 0n, producerEpoch: 0 })
    assert.equal(first.errorCode, 0)
    assert.ok(first.producerId >= 0n)
    const unknown = await conn.request(InitProducerId, 5, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: 999_999n, producerEpoch: 7 })
    assert.equal(unknown.errorCode, 0)
    assert.notEqual(unknown.producerId, 999_999n)
    assert.equal(unknown.producerEpoch, 0)
  })
})
