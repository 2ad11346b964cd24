/**
 * `connectInProcess`: a connection with no socket answers as a node's listener does, through the
 * same pipeline (faults included), and refuses what the pipeline cannot answer.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, UnanswerableRequestError, type EmbeddedBroker } from '../../src/broker/index.js'
import type { ApiSpec } from '../../src/protocol/codec-runtime.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { decodeResponse, encodeRequest } from '../../src/protocol/frame.js'
import { ApiVersions, Metadata } from '../../src/protocol/generated/index.js'

describe('a connection in process', () => {
  let broker: EmbeddedBroker
  before(async () => {
    broker = await startBroker({ nodes: 2, memory: true, autoCreateTopics: false })
    broker.createTopic('orders', { partitions: 3 })
  })
  after(async () => {
    await broker.stop()
  })

  async function ask<Req, ReqInit, Res, ResInit>(nodeId: number, api: ApiSpec<Req, ReqInit, Res, ResInit>, version: number, body: ReqInit): Promise<Res> {
    const frame = encodeRequest(api, version, { correlationId: 7, clientId: 'in-process-test' }, body).subarray(4)
    const answer = await broker.connectInProcess(nodeId).request(frame)
    assert.ok(answer !== null)
    const decoded = decodeResponse(api, version, answer)
    assert.equal(decoded.correlationId, 7)
    return decoded.body
  }

  it("answers as the node's listener does, on any node", async () => {
    const versions = await ask(0, ApiVersions, 3, {})
    assert.equal(versions.errorCode, KafkaErrorCode.NONE)
    assert.ok(versions.apiKeys.some((k) => k.apiKey === Metadata.apiKey))
    const metadata = await ask(1, Metadata, 12, { topics: [{ name: 'orders' }], allowAutoTopicCreation: false })
    assert.deepEqual(metadata.topics.map((t) => [t.name, t.partitions.length]), [['orders', 3]])
    assert.deepEqual(metadata.brokers.map((b) => b.nodeId).sort(), [0, 1])
  })

  it('goes through the fault injection', async () => {
    broker.faults.failNext(Metadata, KafkaErrorCode.NOT_CONTROLLER)
    const refused = await ask(0, Metadata, 12, { topics: [{ name: 'orders' }], allowAutoTopicCreation: false })
    assert.deepEqual(refused.topics.map((t) => [t.name, t.errorCode]), [['orders', KafkaErrorCode.NOT_CONTROLLER]])
    const answered = await ask(0, Metadata, 12, { topics: [{ name: 'orders' }], allowAutoTopicCreation: false })
    assert.deepEqual(answered.topics.map((t) => t.errorCode), [KafkaErrorCode.NONE])
  })

  it('refuses a version the node does not serve, as a listener closes the connection, and names the node that does not exist', async () => {
    const frame = encodeRequest(Metadata, 0, { correlationId: 1, clientId: null }, { topics: [] }).subarray(4)
    // Rewrite the version to one past the broker's range: the header still decodes.
    frame.writeInt16BE(99, 2)
    await assert.rejects(broker.connectInProcess(0).request(frame), UnanswerableRequestError)
    assert.throws(() => broker.connectInProcess(5), (e: unknown) => e instanceof Error && /no node 5/.test(e.message))
  })
})
