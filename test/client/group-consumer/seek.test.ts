/**
 * GroupConsumer.seek, with the classic protocol and with KIP-848, against the embedded broker.
 * Invariant: after `seek` returns, the next record handed out is the target's (or the first one
 * after it), and nothing fetched from the old position is handed out any more, even when the
 * fetcher had it buffered; `position` and the default `commit()` follow the seek. Only owned
 * partitions can be seeked.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import { GroupConsumer, PartitionNotOwnedError, type GroupConsumerConfig } from '../../../src/client/consumer/group-consumer.js'
import type { ConsumerRecord } from '../../../src/client/consumer/records.js'
import { Condition, consumerProtocolTimings, groupTimings, produce, startTestBroker, WAIT_MS } from './helpers.js'

const RECORDS = 100

/** The next value of an iterator, or a failure naming `what` after WAIT_MS. */
async function next<T>(iterator: AsyncIterator<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${WAIT_MS} ms`)), WAIT_MS)
  })
  try {
    const result = await Promise.race([iterator.next(), timeout])
    if (result.done === true) throw new Error(`${what}: the iterator ended`)
    return result.value
  } finally {
    clearTimeout(timer)
  }
}

/** Takes records up to and including `offset`. */
async function readThrough(records: AsyncIterator<ConsumerRecord>, offset: bigint): Promise<bigint[]> {
  const seen: bigint[] = []
  for (;;) {
    const record = await next(records, `reading through offset ${offset}`)
    seen.push(record.offset)
    if (record.offset >= offset) return seen
  }
}

const protocols: Array<{ name: string; options: Partial<GroupConsumerConfig> }> = [
  { name: 'classic', options: groupTimings() },
  { name: 'KIP-848', options: { groupProtocol: 'consumer', ...consumerProtocolTimings() } },
]

for (const { name, options } of protocols) {
  describe(`GroupConsumer.seek (${name})`, () => {
    let broker: EmbeddedBroker
    const consumers: GroupConsumer[] = []

    before(async () => {
      broker = await startTestBroker()
    })

    after(async () => {
      await Promise.all(consumers.map((c) => c.close()))
      await broker.stop()
    })

    /** A member of its own group on a one-partition topic of RECORDS records, once it owns the partition. */
    async function member(topic: string): Promise<GroupConsumer> {
      broker.createTopic(topic, { partitions: 1 })
      await produce(broker.bootstrap, topic, 1, RECORDS)
      const condition = new Condition()
      const consumer = new GroupConsumer({
        bootstrapServers: broker.bootstrap,
        groupId: `${topic}-group`,
        autoOffsetReset: 'earliest',
        // Small fetches: the fetcher holds records of the old position in its buffer when the seek comes.
        maxPartitionFetchBytes: 512,
        ...options,
      })
      consumers.push(consumer)
      consumer.onStateChange(() => condition.poke())
      consumer.subscribe([topic])
      await condition.until(() => consumer.state === 'stable' && consumer.assignment().length === 1, 'the member owns the partition')
      return consumer
    }

    it('rewinds, fast-forwards and goes to earliest and latest: the next record is the target, nothing of the old position follows', async () => {
      const topic = `seek-records-${name}`
      const consumer = await member(topic)
      const tp = { topic, partition: 0 }
      const records = consumer[Symbol.asyncIterator]()
      assert.deepEqual(await readThrough(records, 29n), Array.from({ length: 30 }, (_, i) => BigInt(i)))

      consumer.seek(tp, 10n)
      assert.equal(consumer.position(tp), 10n, 'position moves at once')
      await consumer.commit()
      assert.equal((await consumer.committed([tp]))[0]?.offset, 10n, 'the default commit carries the seek target')
      assert.deepEqual(await readThrough(records, 14n), [10n, 11n, 12n, 13n, 14n], 'a rewind replays exactly from the target')

      consumer.seek(tp, 70n)
      assert.deepEqual(await readThrough(records, 72n), [70n, 71n, 72n], 'a fast-forward skips what was between')

      consumer.seek(tp, 'earliest')
      assert.deepEqual(await readThrough(records, 1n), [0n, 1n], "'earliest' starts over at the log's start")

      consumer.seek(tp, 'latest')
      // 'latest' is where the log ends when the leader answers: wait for that before writing more.
      await new Condition().until(() => consumer.position(tp) === BigInt(RECORDS), "the position resolves to the log's end")
      await produce(broker.bootstrap, topic, 1, 3, RECORDS)
      assert.equal((await next(records, 'the first record after latest')).offset, BigInt(RECORDS), "'latest' skips everything written before the seek")
    })

    it('a batch handed out before the seek is stale after it, and the next batch starts at the target', async () => {
      const topic = `seek-batches-${name}`
      const consumer = await member(topic)
      const tp = { topic, partition: 0 }
      const batches = consumer.batches()
      const first = await next(batches, 'the first batch')
      assert.equal(first.records[0]?.offset, 0n)
      assert.equal(consumer.isStale(first), false)
      consumer.seek(tp, 50n)
      assert.equal(consumer.isStale(first), true, 'the batch from before the seek is stale')
      const after = await next(batches, 'the first batch after the seek')
      assert.equal(after.records[0]?.offset, 50n)
      assert.equal(consumer.isStale(after), false)
    })

    it('a seek inside onAssign starts the partition there instead of at its committed offset', async () => {
      const topic = `seek-on-assign-${name}`
      broker.createTopic(topic, { partitions: 1 })
      await produce(broker.bootstrap, topic, 1, RECORDS)
      const consumer: GroupConsumer = new GroupConsumer({
        bootstrapServers: broker.bootstrap,
        groupId: `${topic}-group`,
        autoOffsetReset: 'earliest',
        ...options,
        hooks: {
          onAssign: (groups) => {
            for (const g of groups) for (const partition of g.partitions) consumer.seek({ topic: g.topic, partition }, 40n)
          },
        },
      })
      consumers.push(consumer)
      consumer.subscribe([topic])
      const first = await next(consumer[Symbol.asyncIterator](), 'the first record')
      assert.equal(first.offset, 40n)
    })

    it('refuses a partition it does not own with PartitionNotOwnedError, saying what to do', async () => {
      const topic = `seek-not-owned-${name}`
      const consumer = await member(topic)
      assert.throws(
        () => consumer.seek({ topic, partition: 3 }, 0n),
        (error: unknown) =>
          error instanceof PartitionNotOwnedError && error.code === 'GROUP_PARTITION_NOT_OWNED' && error.partition === 3 && /assignment\(\)/.test(error.message),
      )
      assert.throws(() => consumer.seek({ topic: 'elsewhere', partition: 0 }, 'earliest'), PartitionNotOwnedError)
    })

    it('offsetsFor tells where the log starts and ends now, a seek target known at once', async () => {
      const topic = `seek-offsets-for-${name}`
      const consumer = await member(topic)
      const tp = { topic, partition: 0 }
      assert.deepEqual(await consumer.offsetsFor([tp], 'earliest'), [{ ...tp, offset: 0n }])
      assert.deepEqual(await consumer.offsetsFor([tp], 'latest'), [{ ...tp, offset: BigInt(RECORDS) }])
    })
  })
}
