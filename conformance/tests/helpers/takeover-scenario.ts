/**
 * The take-over scenario both group protocols run against librdkafka's mock cluster: two members
 * split the partitions without overlap, committing as they go and in onRevoke; after one leaves,
 * the other owns every partition and resumes at the committed offsets, so the second half of the
 * records arrives and no record is consumed twice. The tests differ only in the consumer options
 * their protocol needs against the mock, and in how long its rebalances take.
 */
import assert from 'node:assert/strict'
import { CommitFailedError, GroupConsumer, Producer, type GroupConsumerConfig, type TopicPartitions } from '../../../src/client/index.js'
import { startMockCluster } from './mock-cluster.js'
import { until } from './until.js'

const RECORDS = 800

export interface TakeoverScenario {
  topic: string
  /** The options beyond brokers, hooks and offset reset: group id, protocol, versions, timeouts. */
  consumer: Omit<GroupConsumerConfig, 'bootstrapServers' | 'hooks' | 'autoOffsetReset'>
  /** How long each wait may take (default: `until`'s). */
  waitMs?: { firstOwner?: number; bothOwners?: number; takeover?: number; allRecords?: number }
}

const partitionsOf = (list: readonly TopicPartitions[]): number[] => list.flatMap((tp) => [...tp.partitions])

/** Refused when the group is rebalancing; onRevoke commits the same progress in time. */
function ignoreRebalance(error: unknown): void {
  if (!(error instanceof CommitFailedError)) throw error
}

/** Runs the scenario on a mock cluster of its own, stopped at the end whatever happens. */
export async function runTakeoverScenario(scenario: TakeoverScenario): Promise<void> {
  const mock = await startMockCluster()
  try {
    await takeover(mock.bootstrap, scenario)
  } finally {
    await mock.stop()
  }
}

async function takeover(bootstrap: string, scenario: TakeoverScenario): Promise<void> {
  const { topic, waitMs = {} } = scenario
  const producer = new Producer({ bootstrapServers: bootstrap })
  await Promise.all(Array.from({ length: RECORDS / 2 }, (_, i) => producer.send({ topic, key: `k${i}`, value: String(i) })))
  const seen = new Map<number, string[]>()

  const start = (name: string): { consumer: GroupConsumer; owned: Set<number>; done: Promise<void> } => {
    const owned = new Set<number>()
    const consumer: GroupConsumer = new GroupConsumer({
      ...scenario.consumer,
      bootstrapServers: bootstrap,
      autoOffsetReset: 'earliest',
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
        await consumer.commit().catch(ignoreRebalance)
      }
    })()
    return { consumer, owned, done }
  }

  const a = start('a')
  await until('a to own partitions', () => a.owned.size > 0, waitMs.firstOwner)
  const b = start('b')
  try {
    await until('both members to own partitions and the first records to arrive', () => a.owned.size > 0 && b.owned.size > 0 && seen.size >= RECORDS / 2, waitMs.bothOwners)
    assert.deepEqual([...a.owned].filter((p) => b.owned.has(p)), [], 'no partition owned by both')
    const total = a.owned.size + b.owned.size

    await a.consumer.close()
    await a.done
    await until('b to own every partition', () => b.owned.size === total, waitMs.takeover)
    await Promise.all(Array.from({ length: RECORDS / 2 }, (_, i) => producer.send({ topic, key: `k${i}`, value: String(RECORDS / 2 + i) })))
    await until('every record', () => seen.size === RECORDS, waitMs.allRecords)
  } finally {
    await producer.close()
    await Promise.all([a.consumer.close(), b.consumer.close()])
    await Promise.all([a.done, b.done])
  }
  assert.deepEqual([...seen.entries()].filter(([, by]) => by.length > 1), [], 'no record consumed twice')
}
