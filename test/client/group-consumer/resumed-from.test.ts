/**
 * The commit metadata hand-off through the group: what a member commits with its offset (metadata
 * included) reaches the broker, and the partition's next owner sees both through `resumedFrom`
 * inside its `onAssign` hook, where it decides how to resume, and fetches from that offset.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import { Admin } from '../../../src/client/admin/admin.js'
import { GroupConsumer, type CommittedOffset, type GroupConsumerBatch } from '../../../src/client/consumer/group-consumer.js'
import { flatten } from '../../../src/client/membership/topic-partitions.js'
import { Condition, groupTimings, produce, startTestBroker } from './helpers.js'

const TOPIC = 'notes'
const GROUP = 'notes-group'
const TP0 = { topic: TOPIC, partition: 0 }
const NOTE = 'offsets 4 and 5 are done too'

describe('GroupConsumer.resumedFrom', () => {
  let broker: EmbeddedBroker
  const consumers: GroupConsumer[] = []

  before(async () => {
    broker = await startTestBroker()
    broker.createTopic(TOPIC, { partitions: 1 })
    await produce(broker.bootstrap, TOPIC, 1, 5)
  })

  after(async () => {
    await Promise.all(consumers.map((c) => c.close()))
    await broker.stop()
  })

  /** A member that records, inside its onAssign hook, what each assigned partition was resumed from. */
  function member(name: string, condition: Condition): { consumer: GroupConsumer; seen: Map<number, CommittedOffset | undefined> } {
    const seen = new Map<number, CommittedOffset | undefined>()
    const consumer: GroupConsumer = new GroupConsumer({
      bootstrapServers: broker.bootstrap,
      clientId: name,
      groupId: GROUP,
      autoOffsetReset: 'earliest',
      ...groupTimings(),
      hooks: {
        onAssign: (groups) => {
          for (const tp of flatten(groups)) seen.set(tp.partition, consumer.resumedFrom(tp))
          condition.poke()
        },
      },
    })
    consumer.onStateChange(() => condition.poke())
    consumers.push(consumer)
    consumer.subscribe([TOPIC])
    return { consumer, seen }
  }

  it("a member's commit metadata reaches the broker and the next owner sees it in onAssign, resuming at that offset", async () => {
    const condition = new Condition()
    const a = member('a', condition)
    await condition.until(() => a.consumer.state === 'stable' && a.seen.has(0), 'a is assigned the partition')
    assert.equal(a.seen.get(0)?.offset, null, 'nothing was committed before a')
    const b = member('b', condition)
    await condition.until(() => a.consumer.state === 'stable' && b.consumer.state === 'stable', 'b joins; the partition stays with a')
    assert.equal(b.consumer.assignment().length, 0)
    assert.equal(b.consumer.resumedFrom(TP0), undefined, 'not owned: nothing to tell')

    await a.consumer.commit([{ ...TP0, offset: 3n, metadata: NOTE }])
    const admin = new Admin({ bootstrapServers: broker.bootstrap })
    try {
      const stored = await admin.fetchOffsets(GROUP, [{ topic: TOPIC, partitions: [0] }])
      assert.deepEqual(stored.map((o) => [o.offset, o.metadata]), [[3n, NOTE]], 'the broker stored the metadata with the offset')
    } finally {
      await admin.close()
    }
    // Read at the assignment, not since: a's own commit does not change what a resumed from.
    assert.equal(a.consumer.resumedFrom(TP0)?.offset, null)

    await a.consumer.close()
    assert.equal(a.consumer.resumedFrom(TP0), undefined, 'a owns nothing after leaving')
    const batches: GroupConsumerBatch[] = []
    const reading = (async () => {
      for await (const batch of b.consumer.batches()) {
        batches.push(batch)
        condition.poke()
      }
    })()
    await condition.until(() => b.seen.has(0) && batches.length > 0, 'b is assigned the partition and reads it')
    const resumed = b.seen.get(0)
    assert.equal(resumed?.offset, 3n)
    assert.equal(resumed?.metadata, NOTE, 'seen inside the onAssign hook')
    assert.deepEqual(b.consumer.resumedFrom(TP0), resumed, 'and afterwards, while owned')
    assert.equal(batches[0]?.records[0]?.offset, 3n, 'fetching starts at the offset resumed from')
    await b.consumer.close()
    await reading
  })
})
