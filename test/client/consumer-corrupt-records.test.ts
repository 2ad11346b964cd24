/**
 * A fetch whose bytes do not decode (a batch failing its CRC). The consumer buffers fetched bytes
 * undecoded and decodes them when the application takes them, with later fetches already sent;
 * these tests hold it to what decoding first guaranteed: the error reaches the application, the
 * position stays before the bad batch, and once the bytes read well again every record arrives
 * once, in order.
 *
 * On the scripted fake (helpers/mock-cluster.ts): the embedded broker refuses corrupt batches on
 * append, so it cannot serve one.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { Consumer } from '../../src/client/consumer/consumer.js'
import { DecodeError } from '../../src/protocol/errors/base.js'
import { encodeRecordBatch } from '../../src/protocol/records/index.js'
import { MockCluster } from './helpers/mock-cluster.js'
import { take } from './helpers/take.js'

const clusters: MockCluster[] = []
const consumers: Consumer[] = []

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.close()))
  await Promise.all(clusters.splice(0).map((c) => c.close()))
})

function batch(values: string[]): Buffer {
  return encodeRecordBatch({ records: values.map((value, i) => ({ value, timestamp: 1_700_000_000_000 + i })) })
}

describe('Consumer on corrupt fetched records', () => {
  it('reports a batch failing its CRC, stays before it, and delivers everything once it reads well', async () => {
    const cluster = await MockCluster.start(1)
    clusters.push(cluster)
    cluster.createTopic('t', 1)
    cluster.append('t', 0, batch(['a0', 'a1']))
    cluster.append('t', 0, batch(['b0', 'b1']))
    const stored = cluster.partition('t', 0).log[1]!.bytes
    const last = stored.length - 1
    stored[last] = stored[last]! ^ 0xff
    const consumer = new Consumer({ bootstrapServers: cluster.bootstrap, fetchMaxWaitMs: 50, retryBackoffMs: 5 })
    consumers.push(consumer)
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])

    await assert.rejects(take(consumer, 4, 5000), (error: unknown) => error instanceof DecodeError && error.code === 'DECODE_CRC_MISMATCH')
    assert.equal(consumer.position({ topic: 't', partition: 0 }), 0n)

    stored[last] = stored[last] ^ 0xff
    cluster.append('t', 0, batch(['c0']))
    const records = await take(consumer, 5, 5000)
    assert.deepEqual(
      records.map((r) => [r.offset, r.value?.toString()]),
      [[0n, 'a0'], [1n, 'a1'], [2n, 'b0'], [3n, 'b1'], [4n, 'c0']],
    )
  })

  it('keeps records fetched before the bad batch in a later response, and reports the bad one after them', async () => {
    const cluster = await MockCluster.start(1)
    clusters.push(cluster)
    cluster.createTopic('t', 1)
    cluster.append('t', 0, batch(['a0', 'a1']))
    const consumer = new Consumer({ bootstrapServers: cluster.bootstrap, fetchMaxWaitMs: 50, retryBackoffMs: 5 })
    consumers.push(consumer)
    await consumer.assign([{ topic: 't', partition: 0, offset: 0n }])
    assert.deepEqual((await take(consumer, 2, 5000)).map((r) => r.value?.toString()), ['a0', 'a1'])

    cluster.append('t', 0, batch(['b0']))
    const stored = cluster.partition('t', 0).log[1]!.bytes
    stored[stored.length - 1] = stored[stored.length - 1]! ^ 0xff
    await assert.rejects(take(consumer, 1, 5000), (error: unknown) => error instanceof DecodeError && error.code === 'DECODE_CRC_MISMATCH')
    assert.equal(consumer.position({ topic: 't', partition: 0 }), 2n)
    // Still bad: the partition fetches the same bytes again and reports them again, never skipping them.
    await assert.rejects(take(consumer, 1, 5000), (error: unknown) => error instanceof DecodeError && error.code === 'DECODE_CRC_MISMATCH')
    stored[stored.length - 1] = stored[stored.length - 1]! ^ 0xff
    assert.deepEqual((await take(consumer, 1, 5000)).map((r) => [r.offset, r.value?.toString()]), [[2n, 'b0']])
  })
})
