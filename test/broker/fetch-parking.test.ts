/**
 * Many long polls parked at once, as with a dozen consumers on an idle topic: no
 * MaxListenersExceededWarning, and one append wakes every one of them; stopping the broker
 * answers the ones still parked.
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { appendProduced } from '../../src/broker/append.js'
import { Cluster } from '../../src/broker/cluster.js'
import { fetch } from '../../src/broker/fetch.js'
import type { RequestContext } from '../../src/broker/handlers/handler.js'
import { MemoryStorage } from '../../src/broker/log/storage.js'
import { lazyGroupCoordinator } from '../../src/broker/groups/broker-context.js'
import { startTransactionCoordinator } from '../../src/broker/transactions/broker-context.js'
import { resolveOptions } from '../../src/broker/options.js'
import { Fetch, type FetchRequest, type FetchRequestInit, type FetchResponseInit } from '../../src/protocol/generated/index.js'
import { Reader } from '../../src/protocol/primitives/reader.js'
import { Writer } from '../../src/protocol/primitives/writer.js'
import { within } from './helpers/connection.js'
import { batchOf, valuesIn } from './helpers/records.js'

const VERSION = 12
const PARKED = 20

/** A decoded request, as the broker's handler gets it off the wire. */
function fetchRequest(body: FetchRequestInit): FetchRequest {
  const writer = new Writer()
  Fetch.request.encode(writer, body, VERSION)
  return Fetch.request.decode(new Reader(writer.finish()), VERSION)
}

function longPoll(topic: string): FetchRequest {
  return fetchRequest({
    maxWaitMs: 30_000,
    minBytes: 1,
    maxBytes: 1 << 20,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
  })
}

function recordsOf(response: FetchResponseInit): string[] {
  const bytes = response.responses?.[0]?.partitions[0]?.records ?? null
  return valuesIn(bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).map((r) => r.value)
}

describe('parked fetches', () => {
  let cluster: Cluster
  let stopping: AbortController
  let ctx: RequestContext
  const warnings: Error[] = []
  const onWarning = (warning: Error): void => void warnings.push(warning)

  beforeEach(() => {
    const options = resolveOptions({ memory: true, autoCreateTopics: false })
    cluster = new Cluster(options, new MemoryStorage())
    cluster.createTopic('idle', 1, 1, {})
    stopping = new AbortController()
    const groups = lazyGroupCoordinator(options, stopping.signal, cluster)
    const transactions = startTransactionCoordinator(cluster, options, groups, stopping.signal)
    ctx = { cluster, options, stopping: stopping.signal, groups, transactions: () => transactions, supportedApis: [], node: cluster.nodes[0]!, version: VERSION, clientId: 'test' }
    warnings.length = 0
    process.on('warning', onWarning)
  })
  afterEach(() => {
    // Answers anything a failed test left parked, so its timers do not keep the process alive.
    stopping.abort()
    process.off('warning', onWarning)
    cluster.close()
  })

  it(`parks ${PARKED} fetches without a listener warning, and one append wakes them all`, async () => {
    const polls = Array.from({ length: PARKED }, () => fetch(longPoll('idle'), ctx))
    const partition = cluster.partition('idle', 0)!
    const appended = appendProduced(partition, batchOf(['wake']), Date.now())
    assert.equal(appended.errorCode, 0)
    const answers = await within(Promise.all(polls), 5_000, 'every parked fetch answering the append')
    for (const answer of answers) assert.deepEqual(recordsOf(answer), ['wake'])
    // Warnings are emitted on a later tick than the listener that caused them was added.
    await new Promise<void>((resolve) => setImmediate(resolve))
    assert.deepEqual(warnings.map((w) => w.name), [])
  })

  it('answers every parked fetch, empty, when the broker stops', async () => {
    const polls = Array.from({ length: PARKED }, () => fetch(longPoll('idle'), ctx))
    stopping.abort()
    const answers = await within(Promise.all(polls), 5_000, 'every parked fetch answering the stop')
    for (const answer of answers) assert.deepEqual(recordsOf(answer), [])
    await new Promise<void>((resolve) => setImmediate(resolve))
    assert.deepEqual(warnings.map((w) => w.name), [])
  })
})
