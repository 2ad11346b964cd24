/**
 * GroupConsumerPort carries commit metadata both ways on the embedded broker: a commit's metadata
 * is stored with its offset, and the partition's next owner gets it in `onAssign` (null when there
 * is none, whether nothing was committed or the commit had no metadata). Fetched records name
 * their partition. The port is driven directly, without the framework on top.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import type { AssignedPartition, FetchedBatch } from '../../../src/processing/consumer-port.js'
import { GroupConsumerPort } from '../../../src/processing/adapters/consumer.js'
import { CommitMetadataTooLargeError } from '../../../src/processing/errors.js'
import { encodeDoneRanges } from '../../../src/processing/offset-metadata.js'
import { Condition, groupTimings, produce, startTestBroker } from '../../client/group-consumer/helpers.js'

const TOPIC = 'port-metadata'
const GROUP = 'port-metadata-group'
const TP0 = { topic: TOPIC, partition: 0 }
/** What the framework will write when committing 2 with offsets 3 and 4 already done. */
const NOTE = encodeDoneRanges(2n, [[3n, 5n]])

interface Member {
  readonly port: GroupConsumerPort
  readonly assigned: AssignedPartition[]
  readonly batches: FetchedBatch[]
}

describe('GroupConsumerPort commit metadata', () => {
  let broker: EmbeddedBroker
  const condition = new Condition()
  const members: Member[] = []

  before(async () => {
    broker = await startTestBroker()
    broker.createTopic(TOPIC, { partitions: 1 })
    await produce(broker.bootstrap, TOPIC, 1, 6)
  })

  after(async () => {
    await Promise.all(members.map((m) => m.port.close()))
    await broker.stop()
  })

  async function member(name: string): Promise<Member> {
    const port = new GroupConsumerPort({ bootstrapServers: broker.bootstrap, clientId: name, groupId: GROUP, autoOffsetReset: 'earliest', ...groupTimings() })
    const m: Member = { port, assigned: [], batches: [] }
    members.push(m)
    await port.start([TOPIC], {
      onAssign: (partitions) => {
        m.assigned.push(...partitions)
        condition.poke()
        return Promise.resolve()
      },
      onRevoke: () => Promise.resolve(),
      onLost: () => Promise.resolve(),
      onBatch: (batch) => {
        m.batches.push(batch)
        condition.poke()
      },
      onFatal: (error) => assert.fail(error),
    })
    return m
  }

  /** Waits until the member owns the partition and has been handed a batch of it. */
  async function reading(m: Member, name: string): Promise<void> {
    await condition.until(() => m.assigned.length === 1 && m.batches.length > 0, `${name} is assigned the partition and reads it`)
  }

  it('hands the metadata committed by one owner to the next in onAssign, and null once a commit has none', async () => {
    const a = await member('a')
    await reading(a, 'a')
    assert.deepEqual(a.assigned, [{ ...TP0, committed: null }], 'nothing committed yet')
    const first = a.batches[0]!.records[0]!
    assert.deepEqual([first.topic, first.partition, first.offset], [TOPIC, 0, 0n], 'fetched records name their partition')
    await a.port.commit([{ ...TP0, offset: 2n, metadata: NOTE }])
    await a.port.close()

    const b = await member('b')
    await reading(b, 'b')
    assert.deepEqual(b.assigned, [{ ...TP0, committed: { offset: 2n, metadata: NOTE } }])
    assert.equal(b.batches[0]!.records[0]!.offset, 2n, 'resumed at the committed offset')
    await b.port.commit([{ ...TP0, offset: 5n }])
    await b.port.close()

    const c = await member('c')
    await reading(c, 'c')
    assert.deepEqual(c.assigned, [{ ...TP0, committed: { offset: 5n, metadata: null } }], 'the last commit had no metadata')
    assert.equal(c.batches[0]!.records[0]!.offset, 5n)
  })
})

describe('GroupConsumerPort commit metadata over the broker limit', () => {
  let broker: EmbeddedBroker

  before(async () => {
    broker = await startTestBroker(1, { offsetMetadataMaxBytes: 8 })
    broker.createTopic(TOPIC, { partitions: 2 })
  })

  after(async () => {
    await broker.stop()
  })

  it('refuses the partition whose metadata is over offset.metadata.max.bytes (UTF-8), as Kafka does, and stores the others of the commit', async () => {
    const condition = new Condition()
    const assigned: AssignedPartition[] = []
    const port = new GroupConsumerPort({ bootstrapServers: broker.bootstrap, clientId: 'limit', groupId: 'port-metadata-limit', autoOffsetReset: 'earliest', ...groupTimings() })
    try {
      await port.start([TOPIC], {
        onAssign: (partitions) => {
          assigned.push(...partitions)
          condition.poke()
          return Promise.resolve()
        },
        onRevoke: () => Promise.resolve(),
        onLost: () => Promise.resolve(),
        onBatch: () => undefined,
        onFatal: (error) => assert.fail(error),
      })
      await condition.until(() => assigned.length === 2, 'the member owns both partitions')
      const tp1 = { topic: TOPIC, partition: 1 }
      await port.commit([{ ...TP0, offset: 0n, metadata: '12345678' }])
      // Eight characters, nine bytes: the limit counts bytes.
      await assert.rejects(port.commit([{ ...tp1, offset: 1n }, { ...TP0, offset: 1n, metadata: '1234567é' }]), CommitMetadataTooLargeError)
      const stored = await port.consumer.committed([TP0, tp1])
      assert.deepEqual(
        stored.map((c) => [c.partition, c.offset, c.metadata]),
        [
          [0, 0n, '12345678'],
          [1, 1n, null],
        ],
        'the refused partition keeps its offset; the other one of the commit is stored',
      )
    } finally {
      await port.close()
    }
  })
})
