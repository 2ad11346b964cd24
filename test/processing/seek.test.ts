/**
 * Seek against the fake group, where rebalances come exactly when the test says.
 * Invariants: a seek drains the partition's handlers from before it as a revocation does (aborted
 * at `drainTimeoutMs`), then continues from the target and commits it; a revocation during that
 * drain commits the target, so the next owner starts there; a loss commits nothing; the last of
 * two seeks wins; 'latest' skips the backlog and is committed as the log's end; an application's
 * pause outlasts a seek.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { PartitionNotOwnedError } from '../../src/processing/errors.js'
import { ControlledHandler, group, TP0, within, type Group } from './helpers.js'

function produce(g: Group, count: number): void {
  for (let i = 0; i < count; i++) g.cluster.produce('orders', 0, { key: `k${i % 3}`, value: `v${i}` })
}

describe('seek (fake group)', () => {
  let g: Group | undefined

  /** Member a owns orders[0] (10 records), the handler of offset 5 running until the test finishes it. */
  async function ownerRunning5(): Promise<{ grp: Group; handler: ControlledHandler; a: Awaited<ReturnType<Group['member']>>; running: Awaited<ReturnType<ControlledHandler['started']>> }> {
    g = group()
    produce(g, 10)
    const handler = new ControlledHandler((offset) => offset !== 5n)
    const a = await g.member('a', handler.for('a'))
    await a.consumer.assign([TP0])
    return { grp: g, handler, a, running: await handler.started(5n) }
  }
  afterEach(async () => {
    await g?.close()
    g = undefined
  })

  it("a revocation during the seek's drain lets the running handler finish and commits the target: the next owner starts there", async () => {
    const { grp, handler, a, running } = await ownerRunning5()
    const seek = a.app.seek(TP0, 2n)
    assert.equal(running.ctx.revoking, true, 'the handler from before the seek is told to finish')
    const revoke = a.consumer.revoke([TP0])
    handler.finish(5n)
    await within(revoke, 5000, 'the revocation')
    await within(seek, 5000, 'the seek')
    assert.equal(grp.cluster.committedOffset('orders', 0), 2n, 'the revocation committed the target')
    const b = await grp.member('b', handler.for('b'))
    await b.consumer.assign([TP0])
    const first = await handler.call((c) => c.member === 'b')
    assert.equal(first.offset, 2n, 'b starts at the target')
  })

  it('handlers from before that outlast drainTimeoutMs are aborted; processing then goes on from the target, which is committed', async () => {
    g = group()
    produce(g, 10)
    let replaying = false
    // The replay's first record waits, so that the seek's commit shows the target itself.
    const handler = new ControlledHandler((offset) => offset !== 5n && !(replaying && offset === 0n))
    const a = await g.member('a', handler.for('a'), {}, { drainTimeoutMs: 100 })
    await a.consumer.assign([TP0])
    const stuck = await handler.started(5n)
    handler.reset(0n)
    replaying = true
    await within(a.app.seek(TP0, 0n), 5000, 'the seek')
    assert.equal(stuck.ctx.signal.aborted, true, 'the handler still running at the deadline was aborted')
    assert.equal(g.cluster.committedOffset('orders', 0), 0n)
    await handler.started(0n)
    assert.deepEqual(
      handler.calls.map((c) => c.offset),
      [0n, 1n, 2n, 3n, 4n, 5n, 0n],
      'nothing of the old position after the seek, the target next',
    )
  })

  it('a loss during the drain aborts the handlers from before and commits nothing', async () => {
    const { grp, a, running } = await ownerRunning5()
    const seek = a.app.seek(TP0, 2n)
    await a.consumer.lose([TP0])
    await within(seek, 5000, 'the seek')
    assert.equal(running.ctx.signal.aborted, true)
    assert.equal(grp.cluster.committedOffset('orders', 0), undefined, 'nothing committed for a lost partition')
  })

  it('ctx.seek while the partition is being revoked is refused with PartitionNotOwnedError: the seek would be lost', async () => {
    const { grp, handler, a, running } = await ownerRunning5()
    const revoke = a.consumer.revoke([TP0])
    assert.throws(() => running.ctx.seek(0n), PartitionNotOwnedError)
    handler.finish(5n)
    await within(revoke, 5000, 'the revocation')
    assert.equal(grp.cluster.committedOffset('orders', 0), 6n, 'the hand-off committed what was done, as without the seek')
  })

  it('a seek during a seek: the last target wins', async () => {
    const { grp, handler, a } = await ownerRunning5()
    const first = a.app.seek(TP0, 2n)
    const second = a.app.seek(TP0, 7n)
    handler.finish(5n)
    await within(Promise.all([first, second]), 5000, 'both seeks')
    await handler.started(9n)
    assert.deepEqual(handler.calls.map((c) => c.offset), [0n, 1n, 2n, 3n, 4n, 5n, 7n, 8n, 9n])
    assert.equal(grp.cluster.committedOffset('orders', 0), 7n)
  })

  it("'latest' skips the backlog and is committed as the log's end; the application's pause outlasts the seek", async () => {
    g = group()
    produce(g, 10)
    const handler = new ControlledHandler((offset) => offset !== 0n)
    const a = await g.member('a', handler.for('a'))
    await a.consumer.assign([TP0])
    await handler.started(0n)
    a.app.pause([TP0])
    const seek = a.app.seek(TP0, 'latest')
    handler.finish(0n)
    await within(seek, 5000, 'the seek')
    assert.equal(g.cluster.committedOffset('orders', 0), 10n)
    assert.deepEqual(a.app.paused(), [TP0], 'still paused')
    produce(g, 1)
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(handler.calls.map((c) => c.offset), [0n], 'nothing starts while paused')
    a.app.resume([TP0])
    await handler.started(10n)
    assert.deepEqual(handler.calls.map((c) => c.offset), [0n, 10n], 'the backlog was skipped')
  })
})
