/**
 * Property: whatever happens to a consumer's fetch sessions — assignments that add and drop
 * partitions, seeks, session errors (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH),
 * sessions evicted by another client's (each node has one slot), dropped connections, leaders
 * moving between the two nodes — every partition delivers its records in offset order, each once,
 * from where it was last assigned or seeked to.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { Consumer } from '../../src/client/consumer/consumer.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { Fetch } from '../../src/protocol/generated/index.js'
import { encodeRecordBatch } from '../../src/protocol/records/index.js'
import { TestConnection } from '../broker/helpers/connection.js'
import { EmbeddedCluster } from './helpers/embedded-cluster.js'
import { take } from './helpers/take.js'

const PARTITIONS = 4

type Action =
  | { kind: 'assign'; partitions: Array<{ partition: number; offset: number | null }> }
  | { kind: 'seek'; partition: number; offset: number }
  | { kind: 'sessionError'; code: number }
  | { kind: 'drop'; node: number }
  | { kind: 'evict'; node: number }
  | { kind: 'move'; partition: number; node: number }
  | { kind: 'produce'; partition: number; count: number }
  | { kind: 'take'; count: number }

const partitionArb = fc.integer({ min: 0, max: PARTITIONS - 1 })
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    arbitrary: fc
      .uniqueArray(fc.record({ partition: partitionArb, offset: fc.option(fc.integer({ min: 0, max: 30 }), { nil: null }) }), { selector: (p) => p.partition, minLength: 1, maxLength: PARTITIONS })
      .map((partitions): Action => ({ kind: 'assign', partitions })),
    weight: 2,
  },
  { arbitrary: fc.record({ partition: partitionArb, offset: fc.integer({ min: 0, max: 30 }) }).map((a): Action => ({ kind: 'seek', ...a })), weight: 2 },
  { arbitrary: fc.constantFrom(KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND, KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH).map((code): Action => ({ kind: 'sessionError', code })), weight: 3 },
  { arbitrary: fc.integer({ min: 0, max: 1 }).map((node): Action => ({ kind: 'drop', node })), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 1 }).map((node): Action => ({ kind: 'evict', node })), weight: 3 },
  { arbitrary: fc.record({ partition: partitionArb, node: fc.integer({ min: 0, max: 1 }) }).map((a): Action => ({ kind: 'move', ...a })), weight: 1 },
  { arbitrary: fc.record({ partition: partitionArb, count: fc.integer({ min: 1, max: 8 }) }).map((a): Action => ({ kind: 'produce', ...a })), weight: 2 },
  { arbitrary: fc.integer({ min: 5, max: 60 }).map((count): Action => ({ kind: 'take', count })), weight: 6 },
)

describe('consumer fetch sessions (property)', () => {
  let cluster: EmbeddedCluster
  let run = 0
  let delivered = 0

  before(async () => {
    // One session slot per node, evictable at once: a rival's new session takes it.
    cluster = await EmbeddedCluster.start(2, { fetchSessions: { cacheSlots: 1, evictionMs: 0 } })
  })
  after(async () => {
    await cluster.close()
  })

  it('delivers each partition\'s records in order, each once, across session failures', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 4, maxLength: 20 }), async (actions) => {
        const topic = `p${run++}`
        cluster.broker.createTopic(topic, { partitions: PARTITIONS, replicationFactor: 2 })
        const logEnd = new Array<number>(PARTITIONS).fill(0)
        const produce = async (partition: number, count: number): Promise<void> => {
          // Batches of up to 4 records; each value names its partition and offset.
          for (let done = 0; done < count; ) {
            const n = Math.min(4, count - done)
            const values = Array.from({ length: n }, (_, i) => `${partition}:${logEnd[partition]! + i}`)
            await cluster.append(topic, partition, encodeRecordBatch({ records: values.map((value) => ({ value, timestamp: 1_700_000_000_000 })) }))
            logEnd[partition]! += n
            done += n
          }
        }
        for (let p = 0; p < PARTITIONS; p++) await produce(p, 30)
        const consumer = new Consumer({
          bootstrapServers: cluster.bootstrap,
          autoOffsetReset: 'earliest',
          fetchMaxWaitMs: 20,
          maxPartitionFetchBytes: 256,
          retryBackoffMs: 5,
          retryBackoffMaxMs: 20,
        })
        /** The next offset each assigned partition must deliver. */
        const expected = new Map<number, number>()
        try {
          // Every sequence ends by reading everything left, so nothing may go missing either.
          for (const action of [...actions, { kind: 'take', count: Infinity } as const]) {
            switch (action.kind) {
              case 'assign': {
                await consumer.assign(action.partitions.map(({ partition, offset }) => ({ topic, partition, ...(offset === null ? {} : { offset: BigInt(offset) }) })))
                const next = new Map<number, number>()
                for (const { partition, offset } of action.partitions) next.set(partition, offset ?? expected.get(partition) ?? 0)
                expected.clear()
                for (const [p, o] of next) expected.set(p, o)
                break
              }
              case 'seek':
                if (!expected.has(action.partition)) break
                consumer.seek({ topic, partition: action.partition }, BigInt(action.offset))
                expected.set(action.partition, action.offset)
                break
              case 'sessionError':
                cluster.broker.faults.failNext(Fetch, action.code)
                break
              case 'drop':
                cluster.broker.faults.dropConnections(action.node)
                break
              case 'evict': {
                // Another client's new session takes the node's one slot.
                const rival = await TestConnection.open(cluster.bootstrap[action.node]!)
                try {
                  const ask = { maxWaitMs: 0, minBytes: 0, sessionId: 0, sessionEpoch: 0, topics: [] }
                  let answer = await rival.request(Fetch, 12, ask)
                  // Session errors injected for the consumer may answer the rival's requests instead.
                  for (let tries = 0; answer.errorCode !== 0 && tries < actions.length; tries++) answer = await rival.request(Fetch, 12, ask)
                  assert.notEqual(answer.sessionId, 0)
                } finally {
                  await rival.close()
                }
                break
              }
              case 'move':
                cluster.broker.faults.moveLeader(topic, action.partition, action.node)
                break
              case 'produce':
                await produce(action.partition, action.count)
                break
              case 'take': {
                let available = 0
                for (const [p, o] of expected) available += Math.max(0, logEnd[p]! - o)
                const count = Math.min(action.count, available)
                for (const record of await take(consumer, count, 15_000)) {
                  const want = expected.get(record.partition)
                  assert.equal(record.offset, BigInt(want ?? -1), `partition ${record.partition}: offset ${record.offset} delivered, ${want} expected`)
                  assert.equal(record.value?.toString(), `${record.partition}:${record.offset}`)
                  expected.set(record.partition, want! + 1)
                  delivered++
                }
                break
              }
            }
          }
        } finally {
          cluster.broker.faults.clear()
          await consumer.close()
        }
      }),
      { numRuns: 25 },
    )
    // The sequences must have made the consumer work, not only passed vacuously.
    assert.ok(delivered > 200, `only ${delivered} records delivered over all runs`)
  })
})
