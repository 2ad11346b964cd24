/**
 * Invariant: baton and librdkafka members share one consumer group with cooperative-sticky
 * (KIP-429) on the embedded broker: they agree on the protocol and the assignment, no partition is
 * owned by both at once, every record is consumed, and none twice across a leave.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { until } from './helpers/until.js'
import Kafka from '@confluentinc/kafka-javascript'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { CommitFailedError, GroupConsumer, Producer } from '../../src/client/index.js'

const PARTITIONS = 6
const RECORDS = 2_000

describe('a mixed baton + librdkafka group, cooperative-sticky', () => {
  let broker: EmbeddedBroker
  before(async () => {
    broker = await startBroker({ nodes: 1, memory: true })
  })
  after(async () => {
    await broker.stop()
  })

  it('splits the partitions between both clients and hands over without loss or duplicates', async () => {
    const topic = 'mixed'
    broker.createTopic(topic, { partitions: PARTITIONS })
    const seen = new Map<number, string[]>()
    const record = (id: number, by: string): void => void seen.set(id, [...(seen.get(id) ?? []), by])

    const producer = new Producer({ bootstrapServers: broker.bootstrap })
    await Promise.all(Array.from({ length: RECORDS / 2 }, (_, i) => producer.send({ topic, key: `k${i}`, value: String(i) })))

    const batonOwned = new Set<number>()
    const baton = new GroupConsumer({
      bootstrapServers: broker.bootstrap,
      groupId: 'mixed-group',
      autoOffsetReset: 'earliest',
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 300,
      hooks: {
        onAssign: (partitions) => {
          for (const tp of partitions) for (const p of tp.partitions) batonOwned.add(p)
          return Promise.resolve()
        },
        onRevoke: async (partitions) => {
          await baton.commit()
          for (const tp of partitions) for (const p of tp.partitions) batonOwned.delete(p)
        },
      },
    })
    baton.subscribe([topic])
    const reading = (async () => {
      for await (const batch of baton.batches()) {
        for (const r of batch.records) record(Number(r.value?.toString()), 'baton')
        // Refused when the group is rebalancing; onRevoke commits the same progress in time.
        await baton.commit().catch((error: unknown) => {
          if (!(error instanceof CommitFailedError)) throw error
        })
      }
    })()

    const rdOwned = new Set<number>()
    const rd = new Kafka.KafkaConsumer(
      {
        'bootstrap.servers': broker.bootstrap.join(','),
        'group.id': 'mixed-group',
        'partition.assignment.strategy': 'cooperative-sticky',
        'session.timeout.ms': 6000,
        'heartbeat.interval.ms': 300,
        'enable.auto.commit': true,
        'auto.commit.interval.ms': 100,
        rebalance_cb: true,
      },
      { 'auto.offset.reset': 'earliest' },
    )
    rd.on('rebalance', (err, assignment) => {
      const partitions = assignment.map((a) => a.partition)
      if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) for (const p of partitions) rdOwned.add(p)
      else for (const p of partitions) rdOwned.delete(p)
    })
    rd.on('data', (message) => record(Number(message.value?.toString()), 'librdkafka'))
    await new Promise<void>((resolve, reject) => rd.connect({}, (err) => (err ? reject(new Error(err.message)) : resolve())))
    rd.subscribe([topic])
    rd.consume()

    let overlap = false
    const watcher = setInterval(() => {
      if ([...batonOwned].some((p) => rdOwned.has(p))) overlap = true
    }, 5)
    try {
      await until('both clients to own partitions and all early records to arrive', () => batonOwned.size > 0 && rdOwned.size > 0 && seen.size >= RECORDS / 2)
      assert.equal(batonOwned.size + rdOwned.size, PARTITIONS)

      // librdkafka leaves; baton takes everything over from the committed offsets.
      await new Promise<void>((resolve) => rd.disconnect(() => resolve()))
      await until('baton to own every partition', () => batonOwned.size === PARTITIONS)
      await Promise.all(Array.from({ length: RECORDS / 2 }, (_, i) => producer.send({ topic, key: `k${i}`, value: String(RECORDS / 2 + i) })))
      await until('every record', () => seen.size === RECORDS)
    } finally {
      clearInterval(watcher)
      await producer.close()
      await baton.close()
      await reading
    }
    assert.equal(overlap, false, 'no partition was owned by both clients at once')
    assert.deepEqual([...seen.entries()].filter(([, by]) => by.length > 1), [], 'no record consumed twice')
  })
})
