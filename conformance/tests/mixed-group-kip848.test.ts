/**
 * Invariant: baton and librdkafka members share one KIP-848 consumer group on the embedded broker:
 * the coordinator assigns to both, no partition has two owners at any moment (events of all
 * members ordered by the machine's clock), only owners read, every record is read, and nothing is
 * read twice across graceful joins and leaves.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { CommitFailedError, GroupConsumer, Producer, type TopicPartitions } from '../../src/client/index.js'
import { MemberProcess, ownershipViolations, type MemberEvent } from './helpers/member-processes.js'
import { until } from './helpers/until.js'

const PARTITIONS = 6
const RECORDS = 1_200
const now = (): number => performance.timeOrigin + performance.now()
const partitionsOf = (list: readonly TopicPartitions[]): number[] => list.flatMap((tp) => [...tp.partitions])

describe('a mixed baton + librdkafka KIP-848 group on the embedded broker', () => {
  let broker: EmbeddedBroker
  const processes: MemberProcess[] = []
  before(async () => {
    broker = await startBroker({ nodes: 1, memory: true, groups: { consumerSessionTimeoutMs: 6000, consumerHeartbeatIntervalMs: 250 } })
  })
  after(async () => {
    await Promise.all(processes.map((p) => p.crash()))
    await broker.stop()
  })

  it('assigns to both clients, one owner at a time, nothing read twice on graceful changes', async () => {
    const topic = 'mixed-kip848'
    const groupId = 'mixed-kip848-group'
    broker.createTopic(topic, { partitions: PARTITIONS })
    const log: MemberEvent[] = []
    const producer = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 2 })
    const produce = (from: number, to: number): Promise<unknown> => Promise.all(Array.from({ length: to - from }, (_, i) => producer.send({ topic, key: `k${from + i}`, value: String(from + i) })))
    const values = (): Map<string, string[]> => {
      const seen = new Map<string, string[]>()
      for (const e of log) if (e.ev === 'data') seen.set(e.value!, [...(seen.get(e.value!) ?? []), e.member])
      return seen
    }
    await produce(0, RECORDS / 2)

    const batonOwned = new Set<number>()
    const baton: GroupConsumer = new GroupConsumer({
      bootstrapServers: broker.bootstrap,
      groupId,
      groupProtocol: 'consumer',
      autoOffsetReset: 'earliest',
      hooks: {
        onAssign: (partitions) => {
          for (const p of partitionsOf(partitions)) batonOwned.add(p)
          log.push({ member: 'baton', ev: 'assign', partitions: partitionsOf(partitions), t: now() })
          return Promise.resolve()
        },
        onRevoke: async (partitions) => {
          await baton.commit()
          for (const p of partitionsOf(partitions)) batonOwned.delete(p)
          log.push({ member: 'baton', ev: 'revoke', partitions: partitionsOf(partitions), t: now() })
        },
      },
    })

    const r1 = new MemberProcess('r1', broker.bootstrap.join(','), groupId, topic, log)
    processes.push(r1)
    await until('r1 to own every partition', () => r1.owned.size === PARTITIONS, 60_000)
    baton.subscribe([topic])
    const reading = (async () => {
      for await (const batch of baton.batches()) {
        for (const r of batch.records) log.push({ member: 'baton', ev: 'data', partition: r.partition, value: r.value?.toString() ?? '', t: now() })
        await baton.commit().catch((error: unknown) => {
          if (!(error instanceof CommitFailedError)) throw error
        })
      }
    })()
    await until('r1 and baton to split the partitions', () => r1.owned.size === 3 && batonOwned.size === 3, 60_000)
    const r2 = new MemberProcess('r2', broker.bootstrap.join(','), groupId, topic, log)
    processes.push(r2)
    await until('r1, baton and r2 to own two each', () => r1.owned.size === 2 && batonOwned.size === 2 && r2.owned.size === 2, 60_000)
    // Written while all three own partitions, so that each client reads some.
    await produce(RECORDS / 2, (3 * RECORDS) / 4)
    await until('every record so far', () => values().size === (3 * RECORDS) / 4, 60_000)

    await baton.close()
    await reading
    await until('r1 and r2 to take baton\'s partitions', () => r1.owned.size + r2.owned.size === PARTITIONS, 60_000)
    await produce((3 * RECORDS) / 4, RECORDS)
    await until('every record', () => values().size === RECORDS, 60_000)
    await r2.stop()
    await until('r1 to own every partition', () => r1.owned.size === PARTITIONS, 60_000)
    await r1.stop()
    await producer.close()

    assert.deepEqual(ownershipViolations(log), [])
    assert.deepEqual([...values()].filter(([, by]) => by.length > 1), [], 'nothing read twice')
    assert.ok(log.some((e) => e.member === 'baton' && e.ev === 'data'), 'baton read records')
    assert.ok(log.some((e) => e.member !== 'baton' && e.ev === 'data'), 'librdkafka read records')
  })
})
