/**
 * Invariant: baton's group membership works against a group coordinator baton did not write —
 * librdkafka's mock cluster: two members split the auto-created partitions without overlap, every
 * record is consumed, and after one member leaves the other resumes from the committed offsets.
 *
 * The mock makes a member joining a stable group wait about session.timeout.ms − 1 s, so the
 * session timeout is kept at its minimum; and it cannot parse the flexible versions of the group
 * APIs it advertises, so the test pins the classic ones with the client's `maxApiVersions`.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { until } from './helpers/until.js'
import { startMockCluster, type MockCluster } from './helpers/mock-cluster.js'
import { CommitFailedError, GroupConsumer, Producer, type TopicPartitions } from '../../src/client/index.js'

const RECORDS = 800

function ignoreRebalance(error: unknown): void {
  if (!(error instanceof CommitFailedError)) throw error
}

const partitionsOf = (list: readonly TopicPartitions[]): number[] => list.flatMap((tp) => [...tp.partitions])

describe("baton's group membership against librdkafka's mock cluster", () => {
  let mock: MockCluster
  before(async () => {
    mock = await startMockCluster()
  })
  after(async () => {
    await mock.stop()
  })

  it('two members split the partitions, then one takes over at the committed offsets', async () => {
    const topic = 'mock-group'
    const producer = new Producer({ bootstrapServers: mock.bootstrap })
    await Promise.all(Array.from({ length: RECORDS / 2 }, (_, i) => producer.send({ topic, key: `k${i}`, value: String(i) })))
    const seen = new Map<number, string[]>()

    const start = (name: string): { consumer: GroupConsumer; owned: Set<number>; done: Promise<void> } => {
      const owned = new Set<number>()
      const consumer: GroupConsumer = new GroupConsumer({
        bootstrapServers: mock.bootstrap,
        groupId: 'baton-on-mock',
        // The mock advertises flexible versions of the group APIs but parses them the classic way
        // (array counts as int32, LeaveGroup without its v3 member list): pin the last classic ones.
        maxApiVersions: { JoinGroup: 5, SyncGroup: 3, Heartbeat: 3, LeaveGroup: 2 },
        autoOffsetReset: 'earliest',
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 500,
        hooks: {
          onAssign: (partitions) => {
            for (const p of partitionsOf(partitions)) owned.add(p)
            return Promise.resolve()
          },
          onRevoke: async (partitions) => {
            await consumer.commit()
            for (const p of partitionsOf(partitions)) owned.delete(p)
          },
        },
      })
      consumer.subscribe([topic])
      const done = (async () => {
        for await (const batch of consumer.batches()) {
          for (const r of batch.records) {
            const id = Number(r.value?.toString())
            seen.set(id, [...(seen.get(id) ?? []), name])
          }
          // Refused when the group is rebalancing; onRevoke commits the same progress in time.
          await consumer.commit().catch(ignoreRebalance)
        }
      })()
      return { consumer, owned, done }
    }

    const a = start('a')
    await until('a to own partitions', () => a.owned.size > 0)
    const b = start('b')
    try {
      await until('both members to own partitions and the first records to arrive', () => a.owned.size > 0 && b.owned.size > 0 && seen.size >= RECORDS / 2)
      assert.deepEqual([...a.owned].filter((p) => b.owned.has(p)), [], 'no partition owned by both')
      const total = a.owned.size + b.owned.size

      await a.consumer.close()
      await a.done
      await until('b to own every partition', () => b.owned.size === total)
      await Promise.all(Array.from({ length: RECORDS / 2 }, (_, i) => producer.send({ topic, key: `k${i}`, value: String(RECORDS / 2 + i) })))
      await until('every record', () => seen.size === RECORDS)
    } finally {
      await producer.close()
      await Promise.all([a.consumer.close(), b.consumer.close()])
      await Promise.all([a.done, b.done])
    }
    assert.deepEqual([...seen.entries()].filter(([, by]) => by.length > 1), [], 'no record consumed twice')
  })
})
