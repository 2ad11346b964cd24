/**
 * The duplicate-on-rebalance scenario with baton's defaults on the embedded broker, under the
 * classic protocol (cooperative-sticky) and under KIP-848 (groupProtocol 'consumer'): 3 apps
 * process 6 partitions with a slow handler (500 ms scaled down to 5 ms), a 4th joins, then one
 * leaves, then one crashes (no commit, no LeaveGroup).
 * Invariants: no record is lost; the graceful changes (join, leave) repeat nothing; every
 * duplicate is a record the crashed app had started at or after its partition's last committed
 * offset (in flight or done but not yet committed when it died). The test prints the counts.
 */
import assert from 'node:assert/strict'
import { setTimeout as delay } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import { produce, startTestBroker } from '../../client/group-consumer/helpers.js'
import { Group, type RunningApp } from './harness.js'

const PARTITIONS = 6
const PER_PARTITION = 150
const HANDLER_MS = 5
const TOTAL = PARTITIONS * PER_PARTITION

for (const protocol of ['classic', 'consumer'] as const) describe(`duplicate-on-rebalance with baton defaults, ${protocol} protocol`, () => {
  let broker: EmbeddedBroker
  let g: Group | undefined

  before(async () => {
    broker = await startTestBroker()
  })

  after(async () => {
    await g?.close()
    await broker.stop()
  })

  it('a 4th app joins, one leaves, one crashes: nothing lost, duplicates only from the crashed app', async () => {
    const topic = `scenario-${protocol}`
    broker.createTopic(topic, { partitions: PARTITIONS })
    await produce(broker.bootstrap, topic, PARTITIONS, PER_PARTITION)
    g = new Group(broker, topic, `${topic}-group`, protocol)
    const group = g
    /** Records each app started, by partition:offset, so in-flight work at the crash can be counted. */
    const started = new Map<string, Set<string>>()
    const start = (name: string): Promise<RunningApp> => {
      started.set(name, new Set())
      return group.start(name, async (record, ctx) => {
        started.get(name)!.add(`${record.partition}:${record.offset}`)
        await delay(HANDLER_MS, undefined, { signal: ctx.signal })
      })
    }
    const [a, b, c] = await Promise.all([start('a'), start('b'), start('c')])
    await group.condition.until(() => group.handled.size >= TOTAL * 0.15, '15% handled')
    const d = await start('d')
    await group.condition.until(() => group.handled.size >= TOTAL * 0.4 && group.stable(a, b, c, d) && group.owners(d) > 0, 'the 4th app works, 40% handled')
    const left = await group.stop(a)
    assert.equal(left.exitCode, 0)
    await group.condition.until(() => group.handled.size >= TOTAL * 0.65 && group.stable(b, c, d), 'the leave is done, 65% handled')
    const duplicatesBeforeCrash = group.tally(PARTITIONS, PER_PARTITION).duplicates.length
    const owned = b.consumer.assignment().map((tp) => tp.partition)
    group.crash(b)
    const committedAtCrash = await group.committedOffsets(PARTITIONS)
    const finished = new Set([...group.handled].filter(([, by]) => by.includes('b')).map(([key]) => key))
    const inFlight = [...started.get('b')!].filter((key) => !finished.has(key))
    const uncommitted = [...finished].filter((key) => {
      const [p, o] = key.split(':').map(Number) as [number, number]
      return owned.includes(p) && BigInt(o) >= (committedAtCrash.get(p) ?? 0n)
    })
    await group.condition.until(() => group.handled.size === TOTAL && group.stable(c, d), 'everything handled after the crash', 20_000)
    await group.stop(c)
    await group.stop(d)

    const { duplicates, missing } = group.tally(PARTITIONS, PER_PARTITION)
    console.log(
      `scenario (${protocol}): ${TOTAL} records, ${group.handled.size} handled, ${missing.length} lost, ${duplicatesBeforeCrash} duplicates before the crash, ` +
        `${duplicates.length} duplicates in all; at the crash b had ${inFlight.length} in flight and ${uncommitted.length} done but not committed`,
    )
    assert.deepEqual(missing, [], 'nothing lost')
    assert.equal(duplicatesBeforeCrash, 0, 'the join and the leave repeat nothing')
    for (const key of duplicates) {
      const [p, o] = key.split(':').map(Number) as [number, number]
      assert.ok(owned.includes(p), `${key} repeated on a partition b did not own`)
      assert.ok(started.get('b')!.has(key), `${key} repeated though b never started it`)
      assert.ok(BigInt(o) >= (committedAtCrash.get(p) ?? 0n), `${key} repeated below b's last commit`)
    }
    assert.ok(duplicates.length <= inFlight.length + uncommitted.length)
  })
})
