/**
 * A client's bytes never take the broker down: what has a Kafka error gets it, what cannot be
 * framed or parsed closes only that connection (with one log line), and everyone else is served.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { decodeResponse } from '../../src/protocol/frame.js'
import { ApiVersions, Metadata, Produce } from '../../src/protocol/generated/index.js'
import { TestConnection, within } from './helpers/connection.js'
import { batchOf } from './helpers/records.js'
import { recordingLogger, type LogLine } from '../helpers/logging.js'

/** A request header by hand: key, version, correlation id, client id; then `body`. */
function handMade(apiKey: number, version: number, correlationId: number, body = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(4 + 2 + 2 + 4 + 2)
  header.writeInt32BE(header.length - 4 + body.length, 0)
  header.writeInt16BE(apiKey, 4)
  header.writeInt16BE(version, 6)
  header.writeInt32BE(correlationId, 8)
  header.writeInt16BE(-1, 12)
  return Buffer.concat([header, body])
}

describe('bad input', () => {
  let broker: EmbeddedBroker
  const lines: LogLine[] = []
  let healthy: TestConnection

  before(async () => {
    broker = await startBroker({ maxRequestBytes: 64 * 1024, logger: recordingLogger(lines) })
    broker.createTopic('t', { configs: { 'max.message.bytes': '2000' } })
    healthy = await TestConnection.open(broker.bootstrap[0]!)
  })
  after(async () => {
    await healthy.close()
    await broker.stop()
  })

  async function stillServing(): Promise<void> {
    const metadata = await healthy.request(Metadata, 12, { topics: null })
    assert.equal(metadata.brokers.length, 1)
  }

  async function expectClosed(bytes: Buffer): Promise<void> {
    const conn = await TestConnection.open(broker.bootstrap[0]!)
    const warnings = lines.filter((l) => l.level === 'warn').length
    conn.writeRaw(bytes)
    await within(conn.closed, 5000, 'broker closes the connection')
    assert.equal(lines.filter((l) => l.level === 'warn').length, warnings + 1, 'one log line per closed connection')
    await stillServing()
  }

  it('closes a connection whose frame is garbage', () => expectClosed(Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('junk!')])))

  it('closes a connection that announces a negative size', () => expectClosed(Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3])))

  it('closes a connection that announces a frame above the cap', () => expectClosed(Buffer.from([0x00, 0x10, 0x00, 0x00])))

  it('closes a connection that asks for an unknown API', () => expectClosed(handMade(999, 0, 1)))

  it('closes a connection that asks for a version the broker does not serve', () => expectClosed(handMade(Produce.apiKey, 2, 1)))

  it('closes a connection whose body is truncated', () => expectClosed(handMade(Metadata.apiKey, 4, 1, Buffer.from([0, 0, 0, 9]))))

  it('answers a too-new ApiVersions with UNSUPPORTED_VERSION in v0 and the supported ranges (KIP-511)', async () => {
    const conn = await TestConnection.open(broker.bootstrap[0]!)
    try {
      const frame = await conn.requestRaw(handMade(ApiVersions.apiKey, 77, 42, Buffer.from([0])), 42)
      const { correlationId, body } = decodeResponse(ApiVersions, 0, frame)
      assert.equal(correlationId, 42)
      assert.equal(body.errorCode, KafkaErrorCode.UNSUPPORTED_VERSION)
      assert.deepEqual(body.apiKeys.find((k) => k.apiKey === ApiVersions.apiKey), { apiKey: 18, minVersion: 0, maxVersion: 4 })
    } finally {
      await conn.close()
    }
  })

  it('keeps serving others while a client sits silent or leaves mid-frame', async () => {
    const silent = await TestConnection.open(broker.bootstrap[0]!)
    const halfway = await TestConnection.open(broker.bootstrap[0]!)
    halfway.writeRaw(Buffer.from([0, 0, 1, 0, 0, 3]))
    await stillServing()
    await halfway.close()
    await stillServing()
    assert.equal(silent.isClosed, false)
    await silent.close()
  })

  it('answers a corrupt batch with CORRUPT_MESSAGE and an oversized one with MESSAGE_TOO_LARGE', async () => {
    const corrupt = batchOf(['x'])
    corrupt[corrupt.length - 1] = corrupt[corrupt.length - 1]! ^ 0xff
    const big = batchOf(['y'.repeat(5000)])
    const response = await healthy.request(Produce, 9, {
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 't', partitionData: [{ index: 0, records: corrupt }] }],
    })
    assert.equal(response.responses[0]?.partitionResponses[0]?.errorCode, KafkaErrorCode.CORRUPT_MESSAGE)
    const tooBig = await healthy.request(Produce, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: big }] }] })
    assert.equal(tooBig.responses[0]?.partitionResponses[0]?.errorCode, KafkaErrorCode.MESSAGE_TOO_LARGE)
    const badAcks = await healthy.request(Produce, 9, { acks: 2, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: batchOf(['z']) }] }] })
    assert.equal(badAcks.responses[0]?.partitionResponses[0]?.errorCode, KafkaErrorCode.INVALID_REQUIRED_ACKS)
    assert.equal(broker.offsets('t', 0).logEndOffset, 0)
  })

  it('sends nothing back for acks=0 but appends, in request order', async () => {
    const before = broker.offsets('t', 0).logEndOffset
    healthy.send(Produce, 9, { acks: 0, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: batchOf(['quiet']) }] }] })
    // The next response on the same connection proves the acks=0 request was handled before it.
    await stillServing()
    assert.equal(broker.offsets('t', 0).logEndOffset, before + 1)
    assert.equal(healthy.unmatchedResponses, 0)
  })

  it('survives a client that connects and closes at once', async () => {
    const socket = connect({ host: broker.nodes[0]!.host, port: broker.nodes[0]!.port })
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
    socket.destroy()
    await stillServing()
  })

  it('answers hundreds of pipelined requests, in order, without stalling', async () => {
    const conn = await TestConnection.open(broker.bootstrap[0]!)
    try {
      const order: number[] = []
      const requests = Array.from({ length: 300 }, (_, i) => conn.request(Metadata, i % 2 === 0 ? 12 : 1, { topics: [] }).then(() => order.push(i)))
      await within(Promise.all(requests), 10_000, 'pipelined responses')
      assert.deepEqual(
        order,
        Array.from({ length: 300 }, (_, i) => i),
      )
    } finally {
      await conn.close()
    }
  })
})
