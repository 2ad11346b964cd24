/**
 * The duplicate-on-rebalance scenario with the bare GroupConsumer and manual commits: 3 members
 * process 6 partitions with a slow handler (each partition's records in order, partitions in
 * parallel), and a 4th member joins mid-stream.
 * Invariant shown: committing after each record is not enough; without a revoke hook the old owner
 * keeps working on records the new owner also gets, so duplicates appear (the test asserts there
 * are some: the problem is real on this broker). With cooperative-sticky and a revoke hook that
 * stops the partition, waits for the record in flight and commits what is done, there are zero
 * duplicates and zero lost records.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import { GroupConsumer, PartitionNotOwnedError } from '../../../src/client/consumer/group-consumer.js'
import { CommitFailedError } from '../../../src/client/membership/errors.js'
import { flatten } from '../../../src/client/membership/topic-partitions.js'
import { Condition, groupTimings, produce, startTestBroker } from './helpers.js'

const PARTITIONS = 6
const PER_PARTITION = 100
const HANDLER_MS = 8

interface Run {
  handled: Map<string, number>
  stable: () => boolean
  close: () => Promise<void>
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

describe('duplicate-on-rebalance with manual commits (GroupConsumer)', () => {
  let broker: EmbeddedBroker

  before(async () => {
    broker = await startTestBroker()
  })

  after(async () => {
    await broker.stop()
  })

  /** Runs 3 members, adds a 4th once a fifth of the records are handled, and waits until everything is handled. */
  async function scenario(topic: string, withRevokeHook: boolean): Promise<Run> {
    broker.createTopic(topic, { partitions: PARTITIONS })
    await produce(broker.bootstrap, topic, PARTITIONS, PER_PARTITION)
    const condition = new Condition()
    const handled = new Map<string, number>()
    const consumers: GroupConsumer[] = []
    const loops: Promise<void>[] = []

    function member(name: string): void {
      const chains = new Map<number, Promise<void>>()
      const stopped = new Set<number>()
      const done = new Map<number, bigint>()
      const consumer: GroupConsumer = new GroupConsumer({
        bootstrapServers: broker.bootstrap,
        clientId: name,
        groupId: `${topic}-group`,
        autoOffsetReset: 'earliest',
        ...groupTimings(),
        hooks: withRevokeHook
          ? {
              onAssign: (ps) => {
                for (const { partition } of flatten(ps)) stopped.delete(partition)
              },
              onRevoke: async (ps) => {
                const partitions = flatten(ps).map((tp) => tp.partition)
                for (const p of partitions) stopped.add(p)
                await Promise.all(partitions.map((p) => chains.get(p) ?? Promise.resolve()))
                const offsets = partitions.filter((p) => done.has(p)).map((p) => ({ topic, partition: p, offset: done.get(p)! }))
                await consumer.commit(offsets)
              },
            }
          : {},
      })
      consumer.onStateChange(() => condition.poke())
      consumers.push(consumer)
      consumer.subscribe([topic])
      loops.push(
        (async () => {
          for await (const batch of consumer.batches()) {
            const previous = chains.get(batch.partition) ?? Promise.resolve()
            const chain = previous.then(async () => {
              for (const record of batch.records) {
                if (stopped.has(batch.partition)) return
                await delay(HANDLER_MS)
                const key = `${record.partition}:${record.offset}`
                handled.set(key, (handled.get(key) ?? 0) + 1)
                done.set(record.partition, record.offset + 1n)
                condition.poke()
                try {
                  await consumer.commit([{ topic, partition: record.partition, offset: record.offset + 1n }])
                } catch (error) {
                  // The partition moved on: this commit is refused, typed, and the next owner redoes the record.
                  if (!(error instanceof CommitFailedError || error instanceof PartitionNotOwnedError)) throw error
                }
              }
            })
            chains.set(batch.partition, chain)
          }
          await Promise.all(chains.values())
        })(),
      )
    }

    for (const name of ['a', 'b', 'c']) member(name)
    await condition.until(() => handled.size >= (PARTITIONS * PER_PARTITION) / 5, 'a fifth of the records are handled')
    member('d')
    await condition.until(() => handled.size === PARTITIONS * PER_PARTITION && consumers.every((c) => c.state === 'stable'), 'every record is handled')
    return {
      handled,
      stable: () => consumers.every((c) => c.state === 'stable'),
      close: async () => {
        await Promise.all(consumers.map((c) => c.close()))
        await Promise.all(loops)
      },
    }
  }

  it('commit after each record, no revoke hook: duplicates appear when the 4th member joins', async () => {
    const run = await scenario('naive', false)
    // The old owners finish the batches they hold, so let them: their extra handling is the duplicates.
    await run.close()
    const duplicates = [...run.handled.values()].filter((n) => n > 1).length
    console.log(`naive: ${run.handled.size} handled, ${duplicates} handled more than once`)
    assert.equal(run.handled.size, PARTITIONS * PER_PARTITION, 'nothing lost')
    assert.ok(duplicates > 0, 'duplicates appear without a revoke hook')
  })

  it('cooperative-sticky + commit in onRevoke after in-flight work settles: zero duplicates, zero lost', async () => {
    const run = await scenario('careful', true)
    await run.close()
    const duplicates = [...run.handled.values()].filter((n) => n > 1).length
    console.log(`careful: ${run.handled.size} handled, ${duplicates} handled more than once`)
    assert.equal(run.handled.size, PARTITIONS * PER_PARTITION, 'nothing lost')
    assert.equal(duplicates, 0)
  })
})
