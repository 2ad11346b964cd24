/**
 * The framework's hand-off on baton's own client and the embedded broker.
 * Invariants: on a graceful revocation the handlers in flight finish and their records are
 * committed before the partition's next owner starts, so nothing is handled twice or skipped; work
 * aborted at the drain deadline is not committed and is redone by the next owner (nothing lost);
 * lost partitions commit nothing; in key mode the committed offset never passes an unfinished
 * record; a graceful stop drains in-flight work and commits it.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { aborted, Gate, suiteBroker } from './harness.js'

describe('hand-off on the embedded broker', () => {
  const { group } = suiteBroker()

  it('revoke with handlers mid-flight: they finish, are committed, and only then does the partition move', async () => {
    const g = await group('revoke-mid-flight', 2, 10)
    const started = new Set<string>()
    const release = new Gate()
    const a = await g.start('a', async (record, ctx) => {
      if (record.offset !== 5n) return
      started.add(`a:${record.partition}`)
      g.condition.poke()
      // Mid-flight when the revocation comes: it finishes its work rather than dropping it.
      await Promise.race([aborted(ctx.revokingSignal), release.wait()])
    })
    await g.condition.until(() => started.size === 2, 'a has a handler in flight on each partition')
    const b = await g.start('b', () => Promise.resolve())
    await g.condition.until(() => g.revoked.length === 1, 'a hands one partition off')
    const handOff = g.revoked[0]!
    const moved = handOff.partitions[0]!.partition
    assert.equal(handOff.aborted, 0, 'the handler finished within the drain deadline')
    assert.deepEqual(handOff.committed.map((c) => [c.partition, c.offset]), [[moved, 6n]], 'committed past the record that was in flight')
    await g.condition.until(() => g.handled.has(`${moved}:9`), 'b handles the rest of the moved partition')
    assert.deepEqual(g.handled.get(`${moved}:6`), ['b'], 'b starts right after what a committed')
    release.open()
    await g.condition.until(() => g.handled.size === 20, 'everything handled')
    await g.stop(a)
    await g.stop(b)
    const { duplicates, missing } = g.tally(2, 10)
    assert.deepEqual([duplicates, missing], [[], []])
    assert.deepEqual([...(await g.committedOffsets(2)).values()], [10n, 10n])
  })

  it('drain deadline exceeded: the aborted record is not committed and the new owner redoes it; nothing lost', async () => {
    const g = await group('drain-deadline', 1, 10)
    let stuck: AbortSignal | undefined
    const a = await g.start(
      'a',
      async (record, ctx) => {
        if (record.offset !== 4n) return
        stuck = ctx.signal
        g.condition.poke()
        // Ignores the revocation; only the abort at the deadline ends it.
        await aborted(ctx.signal)
        throw ctx.signal.reason
      },
      { drainTimeoutMs: 300 },
    )
    await g.condition.until(() => stuck !== undefined, 'a is stuck on offset 4')
    // a's only partition moves when it leaves the group.
    const stopping = g.stop(a)
    const b = await g.start('b', () => Promise.resolve())
    const result = await stopping
    assert.equal(result.aborted, 1)
    assert.equal(stuck!.aborted, true)
    await g.condition.until(() => g.handled.size === 10, 'b handles the aborted record and the rest')
    assert.deepEqual(g.handled.get('0:4'), ['b'])
    await g.stop(b)
    assert.deepEqual(g.tally(1, 10), { duplicates: [], missing: [] })
    assert.equal((await g.committedOffsets(1)).get(0), 10n)
  })

  it('lost partitions: handlers are aborted and nothing is committed; the next owner starts from the last commit', async () => {
    const g = await group('lost', 2, 10)
    const a = await g.start('a', () => Promise.resolve(), { commitIntervalMs: 60_000 })
    await g.condition.until(() => g.handled.size === 20, 'a handles everything (committing nothing yet)')
    a.faults.stall()
    await g.condition.until(() => g.lost.length === 1, 'a loses its partitions')
    assert.equal(g.committed.length, 0, 'nothing committed for lost partitions')
    const b = await g.start('b', () => Promise.resolve())
    await g.condition.until(() => [...g.handled.values()].every((by) => by.includes('b')), 'b redoes what a never committed')
    a.faults.unstall()
    await g.stop(b)
    await g.stop(a)
    assert.equal(g.tally(2, 10).missing.length, 0)
  })

  it('key mode: records of other keys finish out of order, but the commit never passes the unfinished one', async () => {
    const g = await group('key-mode', 1, 21)
    const release = new Gate()
    const a = await g.start(
      'a',
      async (record) => {
        // Offset 0 is key k0 (see produce()); it stays unfinished until released.
        if (record.offset === 0n) await release.wait()
      },
      { commitIntervalMs: 50 },
      { deadLetter: false, ordering: 'key' },
    )
    // Keys k1..k6 do not wait for k0: 18 of the 21 records finish while offset 0 is open.
    await g.condition.until(() => g.handled.size === 18, 'the other keys run ahead')
    // The interval commit runs from the start; while offset 0 is open, the most it may store is 0.
    await g.condition.until(() => g.committed.length > 0, 'an interval commit happens')
    assert.ok(
      g.committed.every((c) => c.offsets.every((o) => o.offset === 0n)),
      'no commit passes the unfinished offset 0 (it may be stored again as more is done above it)',
    )
    assert.equal((await g.committedOffsets(1)).get(0), 0n)
    release.open()
    await g.condition.until(() => g.committed.some((c) => c.offsets.some((o) => o.offset === 21n)), 'the commit reaches the end once offset 0 is done')
    await g.stop(a)
    assert.deepEqual(g.tally(1, 21), { duplicates: [], missing: [] })
  })

  it('key mode hand-off: the next owner skips the records finished above the commit and redoes only the rest', async () => {
    const g = await group('key-mode-handoff', 1, 21)
    const a = await g.start(
      'a',
      async (record, ctx) => {
        // Offset 0 (key k0) outlasts the drain deadline; the records of k0 after it wait behind it.
        if (record.offset === 0n) {
          await aborted(ctx.signal)
          throw ctx.signal.reason
        }
      },
      { drainTimeoutMs: 200, shutdownTimeoutMs: 200 },
      { deadLetter: false, ordering: 'key' },
    )
    await g.condition.until(() => g.handled.size === 18, 'the other keys run ahead')
    const stopped = await g.stop(a)
    assert.equal(stopped.aborted, 1, 'offset 0 was aborted at the deadline')
    assert.equal((await g.committedOffsets(1)).get(0), 0n, 'the commit stays at the unfinished record')

    const b = await g.start('b', () => Promise.resolve(), {}, { deadLetter: false, ordering: 'key' })
    await g.condition.until(() => g.handled.size === 21, 'b handles what a left')
    await g.condition.until(() => g.committed.some((c) => c.offsets.some((o) => o.offset === 21n)), 'b commits the end')
    await g.stop(b)
    const byB = [...g.handled].filter(([, by]) => by.includes('b')).map(([key]) => key)
    assert.deepEqual(byB.sort(), ['0:0', '0:14', '0:7'], 'b runs only key k0, which a never finished; the 18 records a finished are skipped')
    assert.deepEqual(g.tally(1, 21), { duplicates: [], missing: [] })
  })

  it('graceful shutdown with in-flight work: the handler finishes, its record is committed, a restart goes on from there', async () => {
    const g = await group('shutdown', 1, 10)
    let inFlight = false
    const a = await g.start('a', async (record, ctx) => {
      if (record.offset !== 3n) return
      inFlight = true
      g.condition.poke()
      await aborted(ctx.revokingSignal)
    })
    await g.condition.until(() => inFlight, 'a handler is in flight')
    const result = await g.stop(a)
    assert.deepEqual([result.exitCode, result.aborted, result.reason], [0, 0, 'stopped'])
    assert.equal((await g.committedOffsets(1)).get(0), 4n, 'committed through the record in flight')
    const again = await g.start('a2', () => Promise.resolve())
    await g.condition.until(() => g.handled.size === 10, 'the restart handles the rest')
    await g.stop(again)
    assert.deepEqual(g.tally(1, 10), { duplicates: [], missing: [] })
  })
})
