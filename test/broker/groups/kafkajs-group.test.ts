/**
 * Conformance of the group coordinator with KafkaJS, unmodified (classic protocol, its own range
 * assignor). Invariant: two consumers of one group split a 6-partition topic between them with no
 * partition owned twice, every record is consumed exactly once, and the offsets they commit are
 * what KafkaJS's admin reads back; with 1 and 3 nodes, so that with 3 the group is routed to its
 * coordinator through FindCoordinator. A second scenario: three consumers, one leaves, and the
 * two others take over its partitions without losing a record.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Kafka, logLevel, type Consumer, type EachMessagePayload } from 'kafkajs'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'

const PARTITIONS = 6
const RECORDS = 600

/** Resolves once `check` holds, re-checking on every call of the returned poke; fails after `ms`. */
function waitFor(check: () => boolean, ms: number, what: string): { poke: () => void; done: Promise<void> } {
  let poke = (): void => {}
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
    poke = () => {
      if (!check()) return
      clearTimeout(timer)
      resolve()
    }
  })
  // A wait abandoned because the test already failed must not surface later as an unhandled rejection.
  done.catch(() => {})
  return { poke: () => poke(), done }
}

for (const nodes of [1, 3]) {
  describe(`KafkaJS consumer group against ${nodes} node(s)`, () => {
    let broker: EmbeddedBroker
    let kafka: Kafka

    before(async () => {
      broker = await startBroker({ nodes, autoCreateTopics: false })
      kafka = new Kafka({ clientId: 'group-conformance', brokers: broker.bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 50 } })
    })
    after(() => broker.stop())

    it('splits the partitions between two consumers, consumes every record once and commits', async () => {
      const topic = `split-${nodes}`
      const groupId = `group-${nodes}`
      broker.createTopic(topic, { partitions: PARTITIONS })
      const seen = new Map<string, number>()
      const owners = new Map<string, Set<number>>()
      const consumers: Consumer[] = []
      const assigned = waitFor(
        () => {
          const all = [...owners.values()].flatMap((s) => [...s])
          return owners.size === 2 && [...owners.values()].every((s) => s.size > 0) && all.length === PARTITIONS && new Set(all).size === PARTITIONS
        },
        20_000,
        'both consumers assigned',
      )
      const consumed = waitFor(() => seen.size === RECORDS, 20_000, 'every record consumed')
      try {
        for (const name of ['a', 'b']) {
          const consumer = kafka.consumer({ groupId, heartbeatInterval: 200, sessionTimeout: 10_000, rebalanceTimeout: 10_000, maxWaitTimeInMs: 100 })
          consumers.push(consumer)
          consumer.on(consumer.events.GROUP_JOIN, (event) => {
            owners.set(name, new Set(event.payload.memberAssignment[topic] ?? []))
            assigned.poke()
          })
          await consumer.connect()
          await consumer.subscribe({ topic, fromBeginning: true })
          await consumer.run({
            eachMessage: ({ message }: EachMessagePayload) => {
              const key = message.key?.toString() ?? ''
              seen.set(key, (seen.get(key) ?? 0) + 1)
              consumed.poke()
              return Promise.resolve()
            },
          })
        }
        await assigned.done
        const producer = kafka.producer()
        await producer.connect()
        try {
          const messages = Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % PARTITIONS }))
          await producer.send({ topic, messages })
        } finally {
          await producer.disconnect()
        }
        await consumed.done
        assert.deepEqual([...seen.values()].filter((n) => n !== 1), [], 'no record consumed twice')
        const partitionsOf = [...owners.values()].map((s) => [...s].sort((x, y) => x - y))
        assert.deepEqual(partitionsOf.flat().sort((x, y) => x - y), [0, 1, 2, 3, 4, 5])
      } finally {
        // Disconnecting commits what was consumed and leaves the group.
        for (const consumer of consumers) await consumer.disconnect()
      }
      const admin = kafka.admin()
      await admin.connect()
      try {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
        const committed = offsets!.partitions.map((p) => Number(p.offset)).reduce((sum, o) => sum + o, 0)
        assert.equal(committed, RECORDS, 'the committed offsets cover every record')
        const described = await admin.describeGroups([groupId])
        assert.equal(described.groups[0]?.state, 'Empty')
      } finally {
        await admin.disconnect()
      }
    })

    it('hands the partitions of a consumer that leaves to the others, losing no record', async () => {
      const topic = `leave-${nodes}`
      const groupId = `leavers-${nodes}`
      broker.createTopic(topic, { partitions: PARTITIONS })
      const seenBy = new Map<string, Set<string>>()
      const owners = new Map<string, number[]>()
      const consumers = new Map<string, Consumer>()
      const covered = (names: string[]) => () => {
        const all = names.flatMap((n) => owners.get(n) ?? [])
        return names.every((n) => (owners.get(n)?.length ?? 0) > 0) && all.length === PARTITIONS && new Set(all).size === PARTITIONS
      }
      const waits: { poke: () => void }[] = []
      const wait = (check: () => boolean, what: string) => {
        const w = waitFor(check, 20_000, what)
        waits.push(w)
        w.poke()
        return w.done
      }
      const produce = async (from: number, count: number) => {
        const producer = kafka.producer()
        await producer.connect()
        try {
          await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ key: `k${from + i}`, value: 'v', partition: (from + i) % PARTITIONS })) })
        } finally {
          await producer.disconnect()
        }
      }
      const consumedAll = (from: number, count: number, by?: string[]) => () =>
        Array.from({ length: count }, (_, i) => `k${from + i}`).every((key) => {
          const who = seenBy.get(key)
          return who !== undefined && (by === undefined || [...who].some((n) => by.includes(n)))
        })
      try {
        for (const name of ['a', 'b', 'c']) {
          const consumer = kafka.consumer({ groupId, heartbeatInterval: 200, sessionTimeout: 10_000, rebalanceTimeout: 10_000, maxWaitTimeInMs: 100 })
          consumers.set(name, consumer)
          consumer.on(consumer.events.GROUP_JOIN, (event) => {
            owners.set(name, event.payload.memberAssignment[topic] ?? [])
            for (const w of waits) w.poke()
          })
          await consumer.connect()
          await consumer.subscribe({ topic, fromBeginning: true })
          await consumer.run({
            eachMessage: ({ message }: EachMessagePayload) => {
              const key = message.key?.toString() ?? ''
              let who = seenBy.get(key)
              if (who === undefined) seenBy.set(key, (who = new Set()))
              who.add(name)
              for (const w of waits) w.poke()
              return Promise.resolve()
            },
          })
        }
        await wait(covered(['a', 'b', 'c']), 'three consumers share the partitions')
        await produce(0, 300)
        await wait(consumedAll(0, 300), 'first batch consumed')

        await consumers.get('c')!.disconnect()
        consumers.delete('c')
        owners.delete('c')
        await wait(covered(['a', 'b']), 'the two remaining consumers take over every partition')
        await produce(300, 300)
        await wait(consumedAll(300, 300, ['a', 'b']), 'second batch consumed by the remaining consumers')
        assert.equal(
          [...seenBy.keys()].length,
          600,
          'no record lost',
        )
      } finally {
        for (const consumer of consumers.values()) await consumer.disconnect()
      }
    })
  })
}
