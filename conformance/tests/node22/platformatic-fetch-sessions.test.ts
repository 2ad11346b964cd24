/**
 * Invariant: @platformatic/kafka's consumer, which uses incremental fetch sessions (KIP-227),
 * reads every record once, in order per partition, from the embedded broker's sessions, including
 * when each node has a single session slot that baton's consumer, reading the same topic at the
 * same time, keeps taking from it (so both keep meeting FETCH_SESSION_ID_NOT_FOUND and falling
 * back to full requests).
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { Consumer as PlatformaticConsumer, stringDeserializers } from '@platformatic/kafka'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { Consumer, Producer } from '../../../src/client/index.js'
import { until } from '../helpers/until.js'

const PARTITIONS = 40
const RECORDS = 1200

for (const nodes of [1, 3]) {
  describe(`@platformatic/kafka fetch sessions against the embedded broker, ${nodes} node(s)`, () => {
    let broker: EmbeddedBroker
    before(async () => {
      broker = await startBroker({ nodes, memory: true, fetchSessions: { cacheSlots: 1, evictionMs: 0 } })
    })
    after(async () => {
      await broker.stop()
    })

    it('every record once, in order per partition, while baton\'s consumer evicts its sessions', async () => {
      const topic = `plt-sessions-${nodes}`
      broker.createTopic(topic, { partitions: PARTITIONS })
      const producer = new Producer({ bootstrapServers: broker.bootstrap, lingerMs: 2 })
      const produce = (from: number, to: number): Promise<unknown> =>
        Promise.all(Array.from({ length: to - from }, (_, i) => producer.send({ topic, partition: (from + i) % PARTITIONS, value: String(from + i) })))
      await produce(0, RECORDS / 2)

      const theirs: number[][] = Array.from({ length: PARTITIONS }, () => [])
      const ours: number[][] = Array.from({ length: PARTITIONS }, () => [])
      const platformatic = new PlatformaticConsumer({ clientId: 'plt-sessions', groupId: `plt-sessions-${nodes}`, bootstrapBrokers: broker.bootstrap, deserializers: stringDeserializers, maxWaitTime: 50 })
      const stream = await platformatic.consume({ topics: [topic], mode: 'earliest', autocommit: 100 })
      stream.on('data', (message) => void theirs[message.partition]!.push(Number(message.value)))
      const baton = new Consumer({ bootstrapServers: broker.bootstrap, autoOffsetReset: 'earliest', fetchMaxWaitMs: 50 })
      await baton.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })))
      const reading = (async () => {
        let count = 0
        for await (const record of baton) {
          ours[record.partition]!.push(Number(record.value?.toString()))
          if (++count === RECORDS) break
        }
      })()
      try {
        // The second half arrives while both read, so their sessions keep changing.
        await produce(RECORDS / 2, RECORDS)
        const total = (lists: number[][]): number => lists.reduce((n, l) => n + l.length, 0)
        await until('every record read by both consumers', () => total(theirs) >= RECORDS && total(ours) >= RECORDS, 60_000)
        await reading
        for (const lists of [theirs, ours]) {
          for (let p = 0; p < PARTITIONS; p++) {
            const expected = Array.from({ length: RECORDS / PARTITIONS }, (_, i) => p + i * PARTITIONS)
            assert.deepEqual(lists[p], expected, `partition ${p}: each record once, in order`)
          }
        }
      } finally {
        await stream.close()
        await platformatic.close()
        await baton.close()
        await producer.close()
      }
    })
  })
}
