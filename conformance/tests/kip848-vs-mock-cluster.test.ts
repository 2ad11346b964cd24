/**
 * Invariant: baton's KIP-848 member (groupProtocol 'consumer') works against a consumer group
 * coordinator baton did not write, librdkafka's mock cluster: two members split the auto-created
 * partitions without overlap, commits under their member epochs are accepted, and after one leaves
 * the other takes over from the committed offsets, nothing read twice.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { until } from './helpers/until.js'
import { startMockCluster, type MockCluster } from './helpers/mock-cluster.js'
import { CommitFailedError, errorLogger, GroupConsumer, Producer, type TopicPartitions } from '../../src/client/index.js'

const RECORDS = 800

const partitionsOf = (list: readonly TopicPartitions[]): number[] => list.flatMap((tp) => [...tp.partitions])

describe("baton's KIP-848 member against librdkafka's mock cluster", () => {
  let mock: MockCluster
  before(async () => {
    mock = await startMockCluster()
  })
  after(async () => {
    await mock.stop()
  })

  it('two members split the partitions, then one takes over at the committed offsets', async () => {
    const topic = 'mock-kip848'
    const producer = new Producer({ bootstrapServers: mock.bootstrap })
    await Promise.all(Array.from({ length: RECORDS / 2 }, (_, i) => producer.send({ topic, key: `k${i}`, value: String(i) })))
    const seen = new Map<number, string[]>()
    const errors: Error[] = []

    const start = (name: string): { consumer: GroupConsumer; owned: Set<number>; done: Promise<void> } => {
      const owned = new Set<number>()
      const consumer: GroupConsumer = new GroupConsumer({
        bootstrapServers: mock.bootstrap,
        groupId: 'baton-kip848-on-mock',
        groupProtocol: 'consumer',
        autoOffsetReset: 'earliest',
        logger: errorLogger((e) => void errors.push(e)),
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
          await consumer.commit().catch((error: unknown) => {
            if (!(error instanceof CommitFailedError)) throw error
          })
        }
      })()
      return { consumer, owned, done }
    }

    const a = start('a')
    await until('a to own partitions', () => a.owned.size > 0, 60_000)
    const b = start('b')
    try {
      await until('both members to own partitions and the first records to arrive', () => a.owned.size > 0 && b.owned.size > 0 && seen.size >= RECORDS / 2, 90_000)
      assert.deepEqual([...a.owned].filter((p) => b.owned.has(p)), [], 'no partition owned by both')
      const total = a.owned.size + b.owned.size

      await a.consumer.close()
      await a.done
      await until('b to own every partition', () => b.owned.size === total, 90_000)
      await Promise.all(Array.from({ length: RECORDS / 2 }, (_, i) => producer.send({ topic, key: `k${i}`, value: String(RECORDS / 2 + i) })))
      await until('every record', () => seen.size === RECORDS, 60_000)
    } finally {
      await producer.close()
      await Promise.all([a.consumer.close(), b.consumer.close()])
      await Promise.all([a.done, b.done])
    }
    assert.deepEqual([...seen.entries()].filter(([, by]) => by.length > 1), [], 'no record consumed twice')
    assert.deepEqual(errors.map((e) => e.message), [])
  })
})
