/**
 * Incremental fetch sessions (KIP-227) and the divergence check (KIP-320) on the embedded broker,
 * spoken with raw Fetch requests: full and incremental requests, forgotten partitions, answers that
 * leave out what did not change, a client's epoch mistakes, eviction, leadership moves, and a
 * truncated log.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { FetchSession, FetchSessionCache, nextSessionEpoch } from '../../src/broker/fetch-sessions.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { Fetch, Produce, type FetchRequestInit, type FetchResponse } from '../../src/protocol/generated/index.js'
import { TestConnection } from './helpers/connection.js'
import { batchOf, valuesIn } from './helpers/records.js'

type Partitions = Array<{ partition: number; fetchOffset: bigint; lastFetchedEpoch?: number; currentLeaderEpoch?: number }>

function fetchOf(topic: string, partitions: Partitions, session: { sessionId: number; sessionEpoch: number }, extra: Partial<FetchRequestInit> = {}): FetchRequestInit {
  return {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    ...session,
    topics: partitions.length === 0 ? [] : [{ topic, partitions: partitions.map((p) => ({ partitionMaxBytes: 1 << 20, ...p })) }],
    ...extra,
  }
}

/** The partitions an answer names, with their record values. */
function named(response: FetchResponse): Array<[number, string[]]> {
  return response.responses.flatMap((t) => t.partitions.map((p): [number, string[]] => [p.partitionIndex, valuesIn(p.records).map((r) => r.value)]))
}

describe('fetch sessions (KIP-227)', () => {
  let broker: EmbeddedBroker
  let conn: TestConnection

  const produce = async (topic: string, partition: number, values: string[]): Promise<void> => {
    const response = await conn.request(Produce, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batchOf(values) }] }] })
    assert.equal(response.responses[0]?.partitionResponses[0]?.errorCode, 0)
  }

  before(async () => {
    broker = await startBroker({ nodes: 2, autoCreateTopics: false })
    conn = await TestConnection.open(broker.bootstrap[0]!)
  })
  after(async () => {
    await conn.close()
    await broker.stop()
  })

  it('creates a session on a full request and answers incremental ones with only what changed', async () => {
    const info = broker.createTopic('inc', { partitions: 4, replicationFactor: 1 })
    const [a, c] = info.leaders.flatMap((leader, index) => (leader === 0 ? [index] : []))
    assert.ok(a !== undefined && c !== undefined)
    await produce('inc', a, ['a0', 'a1'])
    await produce('inc', c, ['c0'])
    const full = await conn.request(Fetch, 12, fetchOf('inc', [{ partition: a, fetchOffset: 0n }, { partition: c, fetchOffset: 0n }], { sessionId: 0, sessionEpoch: 0 }))
    assert.equal(full.errorCode, 0)
    assert.notEqual(full.sessionId, 0)
    assert.deepEqual(named(full), [[a, ['a0', 'a1']], [c, ['c0']]])
    const id = full.sessionId

    // Both positions moved on; nothing new in either partition.
    const second = await conn.request(Fetch, 12, fetchOf('inc', [{ partition: a, fetchOffset: 2n }, { partition: c, fetchOffset: 1n }], { sessionId: id, sessionEpoch: 1 }))
    assert.equal(second.errorCode, 0)
    assert.equal(second.sessionId, id)
    assert.deepEqual(named(second), [], 'nothing new anywhere: no partition named')

    // Nothing listed: both partitions are read at the session's offsets.
    await produce('inc', c, ['c1'])
    const third = await conn.request(Fetch, 12, fetchOf('inc', [], { sessionId: id, sessionEpoch: 2 }))
    assert.deepEqual(named(third), [[c, ['c1']]])
    const p2 = third.responses[0]!.partitions[0]!
    assert.equal(p2.highWatermark, 2n)

    // The client did not list c with its new position (2): the session still reads it at 1.
    const again = await conn.request(Fetch, 12, fetchOf('inc', [], { sessionId: id, sessionEpoch: 3 }))
    assert.deepEqual(named(again), [[c, ['c1']]])
    // Forgetting c: new records there are no longer returned.
    await produce('inc', c, ['c2'])
    await produce('inc', a, ['a2'])
    const fourth = await conn.request(
      Fetch,
      12,
      fetchOf('inc', [], { sessionId: id, sessionEpoch: 4 }, { forgottenTopicsData: [{ topic: 'inc', partitions: [c] }] }),
    )
    assert.deepEqual(named(fourth), [[a, ['a2']]])
  })

  it('refuses a client\'s epoch mistakes with the session errors, and an unknown session', async () => {
    broker.createTopic('mistakes', { partitions: 1, replicationFactor: 1 })
    const full = await conn.request(Fetch, 12, fetchOf('mistakes', [{ partition: 0, fetchOffset: 0n }], { sessionId: 0, sessionEpoch: 0 }))
    const id = full.sessionId
    assert.notEqual(id, 0)
    const ok = await conn.request(Fetch, 12, fetchOf('mistakes', [], { sessionId: id, sessionEpoch: 1 }))
    assert.equal(ok.errorCode, 0)
    // The same epoch again (a resent request) and one skipped ahead.
    const repeated = await conn.request(Fetch, 12, fetchOf('mistakes', [], { sessionId: id, sessionEpoch: 1 }))
    assert.equal(repeated.errorCode, KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH)
    assert.deepEqual(repeated.responses, [])
    const skipped = await conn.request(Fetch, 12, fetchOf('mistakes', [], { sessionId: id, sessionEpoch: 5 }))
    assert.equal(skipped.errorCode, KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH)
    // A refused request does not move the session: epoch 2 is still the next one.
    const next = await conn.request(Fetch, 12, fetchOf('mistakes', [], { sessionId: id, sessionEpoch: 2 }))
    assert.equal(next.errorCode, 0)
    const unknown = await conn.request(Fetch, 12, fetchOf('mistakes', [], { sessionId: id + 1, sessionEpoch: 1 }))
    assert.equal(unknown.errorCode, KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND)
    const noId = await conn.request(Fetch, 12, fetchOf('mistakes', [], { sessionId: 0, sessionEpoch: 3 }))
    assert.equal(noId.errorCode, KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH)
    // Topic ids (v13) in a session made with names.
    const switched = await conn.request(Fetch, 13, fetchOf('mistakes', [], { sessionId: id, sessionEpoch: 3 }))
    assert.equal(switched.errorCode, KafkaErrorCode.FETCH_SESSION_TOPIC_ID_ERROR)
    // Closing with epoch -1: a sessionless full fetch, and the session is gone.
    const closed = await conn.request(Fetch, 12, fetchOf('mistakes', [{ partition: 0, fetchOffset: 0n }], { sessionId: id, sessionEpoch: -1 }))
    assert.equal(closed.errorCode, 0)
    assert.equal(closed.sessionId, 0)
    const gone = await conn.request(Fetch, 12, fetchOf('mistakes', [], { sessionId: id, sessionEpoch: 3 }))
    assert.equal(gone.errorCode, KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND)
    // Sessionless full fetches never get a session.
    const sessionless = await conn.request(Fetch, 12, fetchOf('mistakes', [{ partition: 0, fetchOffset: 0n }], { sessionId: 0, sessionEpoch: -1 }))
    assert.equal(sessionless.sessionId, 0)
  })

  it('keys v13+ sessions by topic id', async () => {
    const info = broker.createTopic('by-id', { partitions: 1, replicationFactor: 1 })
    await produce('by-id', 0, ['x'])
    const full = await conn.request(Fetch, 13, {
      maxWaitMs: 0,
      minBytes: 0,
      sessionId: 0,
      sessionEpoch: 0,
      topics: [{ topicId: info.id, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 }] }],
    })
    assert.notEqual(full.sessionId, 0)
    assert.equal(full.responses[0]?.topicId, info.id)
    await produce('by-id', 0, ['y'])
    const inc = await conn.request(Fetch, 13, {
      maxWaitMs: 0,
      minBytes: 0,
      sessionId: full.sessionId,
      sessionEpoch: 1,
      topics: [{ topicId: info.id, partitions: [{ partition: 0, fetchOffset: 1n, partitionMaxBytes: 1024 }] }],
    })
    assert.equal(inc.responses[0]?.topicId, info.id)
    assert.deepEqual(valuesIn(inc.responses[0].partitions[0]!.records).map((r) => r.value), ['y'])
    const forgot = await conn.request(Fetch, 13, {
      maxWaitMs: 0,
      minBytes: 0,
      sessionId: full.sessionId,
      sessionEpoch: 2,
      topics: [],
      forgottenTopicsData: [{ topicId: info.id, partitions: [0] }],
    })
    assert.deepEqual(forgot.responses, [])
  })

  it('keeps a session across a leadership move: the moved partition reports the new leader until forgotten', async () => {
    const info = broker.createTopic('moving', { partitions: 4, replicationFactor: 1 })
    // Two partitions node 0 leads (leaders go round-robin from a start that moves per topic).
    const [a, b] = info.leaders.flatMap((leader, index) => (leader === 0 ? [index] : []))
    assert.ok(a !== undefined && b !== undefined)
    await produce('moving', a, ['m0'])
    await produce('moving', b, ['n0'])
    const full = await conn.request(Fetch, 12, fetchOf('moving', [{ partition: a, fetchOffset: 1n }, { partition: b, fetchOffset: 1n }], { sessionId: 0, sessionEpoch: 0 }))
    const id = full.sessionId
    broker.faults.moveLeader('moving', b, 1)
    const moved = await conn.request(Fetch, 12, fetchOf('moving', [], { sessionId: id, sessionEpoch: 1 }))
    assert.equal(moved.errorCode, 0)
    assert.deepEqual(named(moved).map(([p]) => p), [b], 'only the moved partition has news')
    const movedPartition = moved.responses[0]!.partitions[0]!
    assert.equal(movedPartition.errorCode, KafkaErrorCode.NOT_LEADER_OR_FOLLOWER)
    assert.equal(movedPartition.currentLeader.leaderId, 1)
    const forgot = await conn.request(Fetch, 12, fetchOf('moving', [], { sessionId: id, sessionEpoch: 2 }, { forgottenTopicsData: [{ topic: 'moving', partitions: [b] }] }))
    assert.deepEqual(named(forgot), [])
    // The session goes on for the partition that stayed, and takes the moved one back when it returns.
    await produce('moving', a, ['m1'])
    broker.faults.moveLeader('moving', b, 0)
    await produce('moving', b, ['n1'])
    const back = await conn.request(Fetch, 12, fetchOf('moving', [{ partition: b, fetchOffset: 1n, currentLeaderEpoch: 2 }], { sessionId: id, sessionEpoch: 3 }))
    assert.equal(back.errorCode, 0)
    assert.deepEqual(named(back), [[a, ['m1']], [b, ['n1']]])
  })

  it('answers a truncated history with the diverging epoch and where it ends (KIP-320)', async () => {
    broker.createTopic('diverge', { partitions: 1, replicationFactor: 1 })
    for (let i = 0; i < 5; i++) await produce('diverge', 0, [`old${i}`])
    broker.faults.truncateLog('diverge', 0, 3)
    assert.equal(broker.offsets('diverge', 0).logEndOffset, 3)
    await produce('diverge', 0, ['new3', 'new4', 'new5'])
    // A client that read offsets 0-4 at epoch 0, now at leader epoch 1.
    const response = await conn.request(Fetch, 12, fetchOf('diverge', [{ partition: 0, fetchOffset: 5n, lastFetchedEpoch: 0, currentLeaderEpoch: 1 }], { sessionId: 0, sessionEpoch: -1 }))
    const p = response.responses[0]!.partitions[0]!
    assert.equal(p.errorCode, 0)
    assert.deepEqual(p.divergingEpoch, { epoch: 0, endOffset: 3n })
    assert.deepEqual(valuesIn(p.records), [])
    // A client whose history agrees reads on.
    const agreeing = await conn.request(Fetch, 12, fetchOf('diverge', [{ partition: 0, fetchOffset: 3n, lastFetchedEpoch: 0, currentLeaderEpoch: 1 }], { sessionId: 0, sessionEpoch: -1 }))
    assert.deepEqual(valuesIn(agreeing.responses[0]!.partitions[0]!.records).map((r) => r.value), ['new3', 'new4', 'new5'])
    // Past the end of the cut log, the divergence comes before OFFSET_OUT_OF_RANGE.
    broker.faults.truncateLog('diverge', 0, 3)
    const pastEnd = await conn.request(Fetch, 12, fetchOf('diverge', [{ partition: 0, fetchOffset: 6n, lastFetchedEpoch: 1, currentLeaderEpoch: 2 }], { sessionId: 0, sessionEpoch: -1 }))
    assert.deepEqual(pastEnd.responses[0]!.partitions[0]!.divergingEpoch, { epoch: 0, endOffset: 3n })
  })
})

/** Fills a session with placeholder partitions: the cache only counts them. */
function withPartitions(session: FetchSession, count: number): FetchSession {
  for (let i = 0; i < count; i++) session.partitions.set(String(i), {} as never)
  return session
}

describe('fetch session cache', () => {
  it('refuses a session when full, then evicts the least recently used once it has been idle long enough', () => {
    let now = 0
    const cache = new FetchSessionCache({ cacheSlots: 2, evictionMs: 100 }, () => now)
    const a = cache.create(5, false)!
    const b = cache.create(5, false)!
    now = 50
    cache.touch(a)
    assert.equal(cache.create(1, false), null, 'nothing idle or old enough to give way')
    now = 130
    const c = cache.create(1, false)
    assert.notEqual(c, null)
    assert.equal(cache.get(b.id), undefined, 'b was idle longest')
    assert.notEqual(cache.get(a.id), undefined)
  })

  it('evicts the smallest session past the eviction age for a session at least as large', () => {
    let now = 0
    const cache = new FetchSessionCache({ cacheSlots: 2, evictionMs: 100 }, () => now)
    const small = withPartitions(cache.create(2, false)!, 2)
    const large = withPartitions(cache.create(10, false)!, 10)
    now = 150
    cache.touch(small)
    cache.touch(large)
    assert.equal(cache.create(1, false), null, 'smaller than every session')
    const bigger = cache.create(3, false)
    assert.notEqual(bigger, null)
    assert.equal(cache.get(small.id), undefined)
    assert.notEqual(cache.get(large.id), undefined)
    assert.equal(cache.size, 2)
  })

  it('gives no session with zero slots, and wraps epochs from 2^31-1 to 1', () => {
    assert.equal(new FetchSessionCache({ cacheSlots: 0 }).create(1, false), null)
    assert.equal(nextSessionEpoch(1), 2)
    assert.equal(nextSessionEpoch(2 ** 31 - 1), 1)
  })

  it('an evicted session\'s next incremental fetch gets FETCH_SESSION_ID_NOT_FOUND', async () => {
    const broker = await startBroker({ autoCreateTopics: false, fetchSessions: { cacheSlots: 1, evictionMs: 0 } })
    const conn = await TestConnection.open(broker.bootstrap[0]!)
    try {
      broker.createTopic('evict', { partitions: 1 })
      const first = await conn.request(Fetch, 12, fetchOf('evict', [{ partition: 0, fetchOffset: 0n }], { sessionId: 0, sessionEpoch: 0 }))
      const second = await conn.request(Fetch, 12, fetchOf('evict', [{ partition: 0, fetchOffset: 0n }], { sessionId: 0, sessionEpoch: 0 }))
      assert.notEqual(first.sessionId, 0)
      assert.notEqual(second.sessionId, 0)
      const evicted = await conn.request(Fetch, 12, fetchOf('evict', [], { sessionId: first.sessionId, sessionEpoch: 1 }))
      assert.equal(evicted.errorCode, KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND)
      const kept = await conn.request(Fetch, 12, fetchOf('evict', [], { sessionId: second.sessionId, sessionEpoch: 1 }))
      assert.equal(kept.errorCode, 0)
    } finally {
      await conn.close()
      await broker.stop()
    }
  })
})
