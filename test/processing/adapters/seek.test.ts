/**
 * `app.seek` and `ctx.seek` on baton's own client and the embedded broker.
 * Invariants: after a seek the partition is processed from the target, exactly: a rewind replays
 * every record from the target once more and nothing else, a fast-forward skips what lies between;
 * no record from after the seek runs while a handler from before it still runs (partition and key
 * mode); the target is committed once the handlers from before settled, so a new owner after a
 * rebalance starts there even when the old owner died without a hand-off; a partition not owned is
 * refused with `PartitionNotOwnedError`.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PartitionNotOwnedError } from '../../../src/processing/errors.js'
import { aborted, Gate, Group, suiteBroker } from './harness.js'
import { produce } from '../../client/group-consumer/helpers.js'

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i)

describe('seek on the embedded broker', () => {
  const { broker, group } = suiteBroker()

  for (const protocol of ['classic', 'consumer'] as const) {
    it(`app.seek rewinds to an offset and to 'earliest': exactly the records from the target run again, and the target is committed (${protocol})`, async () => {
      const topic = `seek-rewind-${protocol}`
      broker().createTopic(topic, { partitions: 1 })
      await produce(broker().bootstrap, topic, 1, 30)
      const g = new Group(broker(), topic, `${topic}-group`, protocol)
      const order: number[] = []
      const a = await g.start('a', (record) => {
        order.push(Number(record.offset))
        return Promise.resolve()
      })
      try {
        await g.condition.until(() => order.length === 30, 'the first pass')
        await a.app.seek({ topic, partition: 0 }, 20n)
        const seekCommit = g.committed.find((c) => c.reason === 'seek')
        assert.deepEqual(seekCommit?.offsets.map((o) => o.offset), [20n], 'the target is committed when the seek resolves')
        await g.condition.until(() => order.length === 40, 'the replay')
        await a.app.seek({ topic, partition: 0 }, 'earliest')
        await g.condition.until(() => order.length === 70, "the replay from 'earliest'")
        assert.deepEqual(order, [...range(0, 30), ...range(20, 30), ...range(0, 30)], 'each pass from its target, in order, nothing else')
        assert.deepEqual(
          g.committed.filter((c) => c.reason === 'seek').map((c) => c.offsets.map((o) => o.offset)),
          [[20n], [0n]],
          "'earliest' is committed as the offset it stands for",
        )
      } finally {
        await g.close()
      }
    })
  }

  it('ctx.seek fast-forwards from a handler: the records between are skipped, the handler that sought finishes first', async () => {
    const g = await group('seek-forward', 1, 100)
    const order: number[] = []
    let seekerRunning = false
    const overlaps: number[] = []
    await g.start('a', async (record, ctx) => {
      order.push(Number(record.offset))
      if (seekerRunning) overlaps.push(Number(record.offset))
      if (record.offset !== 10n) return
      seekerRunning = true
      ctx.seek(60n)
      // Longer than a fetch round trip: the target's records are at hand before this returns.
      await new Promise((resolve) => setTimeout(resolve, 150))
      seekerRunning = false
    })
    await g.condition.until(() => order.length === 51, 'records up to the seek, then from its target to the end')
    assert.deepEqual(order, [...range(0, 11), ...range(60, 100)])
    assert.deepEqual(overlaps, [], 'the target waited for the handler that sought')
    await g.condition.until(() => g.committed.some((c) => c.offsets.some((o) => o.offset === 100n)), 'the end committed')
    assert.equal((await g.committedOffsets(1)).get(0), 100n)
    assert.equal(g.handled.has('0:30'), false, 'nothing between was handled')
  })

  it("key mode: ctx.seek rewinds, no record from after the seek starts while one from before runs, each key stays in order", async () => {
    const g = await group('seek-keys', 1, 60)
    let sought = false
    let runningBefore = 0
    const after: Array<{ offset: number; key: string }> = []
    const overlaps: number[] = []
    await g.start(
      'a',
      async (record, ctx) => {
        const before = !sought
        if (before) runningBefore++
        else {
          after.push({ offset: Number(record.offset), key: String(record.key) })
          if (runningBefore > 0) overlaps.push(Number(record.offset))
        }
        try {
          if (before && record.offset === 40n) {
            sought = true
            ctx.seek(10n)
            // Longer than a fetch round trip: the target's records are at hand before this returns.
            await new Promise((resolve) => setTimeout(resolve, 150))
          }
          // Records run concurrently and settle out of order.
          await new Promise((resolve) => setTimeout(resolve, Number(record.offset % 5n) * 3))
        } finally {
          if (before) runningBefore--
        }
      },
      {},
      { ordering: 'key', deadLetter: false },
    )
    await g.condition.until(() => after.length === 50, 'every record from the target on, once more')
    assert.deepEqual(overlaps, [], 'nothing from after the seek ran alongside a handler from before it')
    assert.deepEqual(after.map((r) => r.offset).sort((x, y) => x - y), range(10, 60), 'exactly the records from the target, once each')
    const byKey = new Map<string, number[]>()
    for (const r of after) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r.offset])
    for (const [key, offsets] of byKey) assert.deepEqual(offsets, [...offsets].sort((x, y) => x - y), `key ${key} in offset order`)
    await g.condition.until(() => g.committed.some((c) => c.offsets.some((o) => o.offset === 60n)), 'the end committed')
  })

  it('seek, then the owner dies mid-replay: the new owner starts at the seek target', async () => {
    const g = await group('seek-then-rebalance', 1, 30)
    const stuck = new Gate()
    let replaying = false
    const a = await g.start('a', async (_record, ctx) => {
      // The replay hangs: only the seek's own commit can tell the next owner where to start.
      if (replaying) await Promise.race([stuck.wait(), aborted(ctx.signal)])
    })
    await g.condition.until(() => g.handled.size === 30, 'a handles everything')
    replaying = true
    await a.app.seek({ topic: g.topic, partition: 0 }, 12n)
    assert.equal((await g.committedOffsets(1)).get(0), 12n, 'the target is committed')
    const b = await g.start('b', () => Promise.resolve())
    g.crash(a)
    await g.condition.until(() => g.handled.has('0:29') && (g.handled.get('0:29') ?? []).includes('b'), 'b takes the partition over after the session timeout')
    const byB = [...g.handled].filter(([, by]) => by.includes('b')).map(([key]) => Number(key.split(':')[1]))
    assert.deepEqual(byB.sort((x, y) => x - y), range(12, 30), 'b starts at the seek target')
    stuck.open()
    await g.stop(b)
  })

  it('refuses a partition the instance does not own with PartitionNotOwnedError, which says what to do', async () => {
    const g = await group('seek-not-owned', 1, 1)
    const a = await g.start('a', () => Promise.resolve())
    await assert.rejects(
      a.app.seek({ topic: g.topic, partition: 4 }, 0n),
      (error: unknown) => error instanceof PartitionNotOwnedError && error.code === 'GROUP_PARTITION_NOT_OWNED' && /ctx\.seek\(\)/.test(error.message),
    )
    await assert.rejects(a.app.seek({ topic: 'other', partition: 0 }, 'latest'), PartitionNotOwnedError)
  })
})
