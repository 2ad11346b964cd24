/**
 * Invariant: when partitions are lost (the generation ended: session timeout, fencing), in-flight
 * handlers are aborted at once and nothing is committed for those partitions, not even records
 * already done: another member may own them now, and the commit would be refused anyway.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ProcessingAbortedError } from '../../src/processing/errors.js'
import { ControlledHandler, group, TP0, type Group } from './helpers.js'

describe('hand-off: partitions lost', () => {
  let g: Group | undefined
  afterEach(async () => {
    await g?.close()
    g = undefined
  })

  it('aborts in-flight handlers at once and commits nothing, then or later', async () => {
    g = group('orders', 2)
    const TP1 = { topic: 'orders', partition: 1 }
    for (let i = 0; i < 4; i++) {
      g.cluster.produce('orders', 0, { value: `a${i}` })
      g.cluster.produce('orders', 1, { value: `b${i}` })
    }
    const handler = new ControlledHandler((offset) => offset < 2n)
    const a = await g.member('a', handler.for('a'), {}, { drainTimeoutMs: 60_000, rebalanceTimeoutMs: 120_000 })
    await a.consumer.assign([TP0, TP1])
    const running = await handler.started(2n, 0)
    await handler.started(2n, 1)

    await a.consumer.lose([TP0, TP1])
    assert.equal(running.ctx.signal.aborted, true, 'aborted without waiting for any deadline')
    assert.ok(running.ctx.signal.reason instanceof ProcessingAbortedError)
    assert.equal(running.ctx.signal.reason.code, 'PROCESSING_PARTITION_LOST')

    // The aborted handlers return anyway, then the app stops: still nothing to commit.
    handler.finish(2n, 0)
    handler.finish(2n, 1)
    await a.app.stop()
    assert.equal(g.cluster.committedOffset('orders', 0), undefined, 'offsets 0 and 1 were done, yet not committed')
    assert.equal(g.cluster.committedOffset('orders', 1), undefined)
    const attempts = g.cluster.history.filter((e) => e.type === 'committed' || e.type === 'commit-rejected')
    assert.deepEqual(attempts, [], 'no commit was even attempted')
    assert.deepEqual(
      handler.calls.map((c) => `${c.partition}:${c.offset}`).sort(),
      ['0:0', '0:1', '0:2', '1:0', '1:1', '1:2'],
      'nothing was dispatched after the loss',
    )
  })

  it('leaves the partitions to the next owner, who starts from the last commit', async () => {
    g = group()
    for (let i = 0; i < 3; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
    const handler = new ControlledHandler(() => true)
    const a = await g.member('a', handler.for('a'))
    await a.consumer.assign([TP0])
    await handler.started(2n)
    await a.consumer.lose([TP0])
    const b = await g.member('b', handler.for('b'))
    await b.consumer.assign([TP0])
    await handler.call((c) => c.member === 'b' && c.offset === 2n)
    await b.app.stop()
    assert.deepEqual(handler.completedOffsets('b'), [0n, 1n, 2n], 'no commit from the lost owner: everything is redone (at least once)')
    assert.equal(g.cluster.committedOffset('orders', 0), 3n)
  })
})
