/**
 * Invariant: @platformatic/kafka's consumer with groupProtocol 'consumer' (KIP-848; a client baton
 * did not write, run on Node 22 by run.sh) works against the embedded broker's consumer group
 * coordinator: it joins and gets every partition, a second member takes a share that the first
 * gives up (never both at once), every record is read, and when the second leaves the first takes
 * its partitions back.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Consumer, stringDeserializers, type MessagesStream } from '@platformatic/kafka'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { Admin, Producer } from '../../../src/client/index.js'
import { until } from '../helpers/until.js'

const PARTITIONS = 6
const RECORDS = 600

interface Member {
  consumer: Consumer<string, string, string, string>
  stream: MessagesStream<string, string, string, string>
}

function owned(member: Member): number[] {
  return (member.consumer.assignments ?? []).flatMap((a) => a.partitions).sort((x, y) => x - y)
}

for (const nodes of [1, 3]) {
  describe(`@platformatic/kafka KIP-848 consumers against the embedded broker, ${nodes} node(s)`, () => {
    let broker: EmbeddedBroker
    before(async () => {
      broker = await startBroker({ nodes, memory: true, groups: { consumerSessionTimeoutMs: 6000, consumerHeartbeatIntervalMs: 250 } })
    })
    after(async () => {
      await broker.stop()
    })

    it('join, split, every record read, leave hands the partitions back', async () => {
      const topic = `plt-kip848-${nodes}`
      broker.createTopic(topic, { partitions: PARTITIONS })
      const producer = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 2 })
      const produce = (from: number, to: number): Promise<unknown> => Promise.all(Array.from({ length: to - from }, (_, i) => producer.send({ topic, key: `k${from + i}`, value: String(from + i) })))
      const seen = new Map<string, string[]>()
      const overlaps: string[] = []
      await produce(0, RECORDS / 2)

      const start = async (name: string): Promise<Member> => {
        const consumer = new Consumer({
          clientId: name,
          groupId: `plt-kip848-group-${nodes}`,
          groupProtocol: 'consumer',
          bootstrapBrokers: broker.bootstrap,
          deserializers: stringDeserializers,
        })
        const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: 100 })
        stream.on('data', (message) => void seen.set(message.value, [...(seen.get(message.value) ?? []), name]))
        return { consumer, stream }
      }
      const stop = async (m: Member): Promise<void> => {
        await m.stream.close()
        await m.consumer.close()
      }

      const a = await start('a')
      try {
        await until('a to own every partition', () => owned(a).length === PARTITIONS, 60_000)
        const b = await start('b')
        const watch = setInterval(() => {
          const both = owned(a).filter((p) => owned(b).includes(p))
          if (both.length > 0) overlaps.push(`a and b both own ${both.join(',')}`)
        }, 5)
        try {
          await until('a and b to split the partitions', () => owned(a).length > 0 && owned(b).length > 0 && owned(a).length + owned(b).length === PARTITIONS, 60_000)
          await until('every record so far', () => seen.size === RECORDS / 2, 60_000)
          // The group runs on the consumer protocol: the coordinator's assignor, not a member's, assigned it.
          const admin = new Admin({ bootstrapServers: broker.bootstrap })
          const [group] = await admin.describeGroups([`plt-kip848-group-${nodes}`]).finally(() => admin.close())
          assert.equal(group?.protocol, 'uniform')
          assert.equal(group.members.length, 2)
        } finally {
          clearInterval(watch)
        }
        await stop(b)
        await until('a to take b\'s partitions back', () => owned(a).length === PARTITIONS, 60_000)
        await produce(RECORDS / 2, RECORDS)
        await until('every record', () => seen.size === RECORDS, 60_000)
      } finally {
        await stop(a)
        await producer.close()
      }
      assert.deepEqual(overlaps, [], 'no partition owned by both members')
    })
  })
}
