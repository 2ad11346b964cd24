/**
 * Invariant: librdkafka consumer groups (through @confluentinc/kafka-javascript) work against
 * baton's embedded group coordinator with the eager `range` and the incremental
 * `cooperative-sticky` protocols: two members split the partitions with no overlap, every record
 * is consumed, and when one member leaves the other takes over from the committed offsets — no
 * record lost, none read twice.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { until } from './helpers/until.js'
import Kafka from '@confluentinc/kafka-javascript'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'

const PARTITIONS = 6
const RECORDS = 3_000

interface Member {
  name: string
  consumer: Kafka.KafkaConsumer
  assigned: Set<number>
}

function produce(bootstrap: string, topic: string, from: number, to: number): Promise<void> {
  const producer = new Kafka.HighLevelProducer({ 'bootstrap.servers': bootstrap, 'linger.ms': 2 })
  return new Promise((resolve, reject) => {
    producer.connect({}, (err) => {
      if (err) return reject(new Error(`producer connect failed: ${err.message}`, { cause: err }))
      let acknowledged = 0
      for (let i = from; i < to; i++) {
        producer.produce(topic, null, Buffer.from(String(i)), `key-${i}`, Date.now(), (error: unknown) => {
          if (error) return reject(new Error(`delivery failed: ${JSON.stringify(error)}`))
          if (++acknowledged === to - from) producer.disconnect(() => resolve())
        })
      }
    })
  })
}

function startMember(name: string, bootstrap: string, groupId: string, topic: string, strategy: string, seen: Map<number, string[]>): Promise<Member> {
  const consumer = new Kafka.KafkaConsumer(
    {
      'bootstrap.servers': bootstrap,
      'group.id': groupId,
      'partition.assignment.strategy': strategy,
      'session.timeout.ms': 6000,
      'heartbeat.interval.ms': 500,
      'enable.auto.commit': true,
      'auto.commit.interval.ms': 100,
      rebalance_cb: true,
    },
    { 'auto.offset.reset': 'earliest' },
  )
  const member: Member = { name, consumer, assigned: new Set() }
  // With rebalance_cb: true the library assigns and unassigns itself (incrementally for
  // cooperative-sticky); librdkafka commits the stored offsets on revoke since auto commit is on.
  consumer.on('rebalance', (err, assignment) => {
    const partitions = assignment.map((a) => a.partition)
    if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) for (const p of partitions) member.assigned.add(p)
    else for (const p of partitions) member.assigned.delete(p)
  })
  consumer.on('data', (message) => {
    const id = Number(message.value?.toString())
    seen.set(id, [...(seen.get(id) ?? []), name])
  })
  return new Promise((resolve, reject) => {
    consumer.connect({}, (err) => {
      if (err) return reject(new Error(`consumer connect failed: ${err.message}`, { cause: err }))
      consumer.subscribe([topic])
      consumer.consume()
      resolve(member)
    })
  })
}

function stopMember(member: Member): Promise<void> {
  return new Promise((resolve) => member.consumer.disconnect(() => resolve()))
}

for (const strategy of ['range', 'cooperative-sticky']) {
  describe(`librdkafka consumer group, ${strategy}, against the embedded broker`, () => {
    let broker: EmbeddedBroker
    before(async () => {
      broker = await startBroker({ nodes: 3, memory: true })
    })
    after(async () => {
      await broker.stop()
    })

    it('splits the partitions, then hands them over on leave without loss or duplicates', async () => {
      const topic = `groups-${strategy}`
      broker.createTopic(topic, { partitions: PARTITIONS })
      const bootstrap = broker.bootstrap.join(',')
      const seen = new Map<number, string[]>()
      await produce(bootstrap, topic, 0, RECORDS / 2)
      const a = await startMember('a', bootstrap, `g-${strategy}`, topic, strategy, seen)
      const b = await startMember('b', bootstrap, `g-${strategy}`, topic, strategy, seen)
      await until('both members to own partitions and every record so far to arrive', () => a.assigned.size > 0 && b.assigned.size > 0 && seen.size >= RECORDS / 2)
      assert.equal(a.assigned.size + b.assigned.size, PARTITIONS)
      assert.deepEqual([...a.assigned].filter((p) => b.assigned.has(p)), [])

      await stopMember(a)
      await until('b to own every partition', () => b.assigned.size === PARTITIONS)
      await produce(bootstrap, topic, RECORDS / 2, RECORDS)
      await until('every record', () => seen.size === RECORDS)
      await stopMember(b)
      const twice = [...seen.entries()].filter(([, by]) => by.length > 1)
      assert.deepEqual(twice, [], 'no record consumed twice')
    })
  })
}
