/**
 * Invariant: a handler still running at the drain deadline is aborted through `ctx.signal`, its
 * record is not committed even if the handler later returns, and the partition's next owner
 * processes it again: at least once, nothing lost.
 */
import { afterEach, describe, it, mock } from 'node:test'
import assert from 'node:assert/strict'
import { ProcessingAbortedError } from '../../src/processing/errors.js'
import { ControlledHandler, group, TP0, type Group } from './helpers.js'

describe('hand-off: the drain deadline passes', () => {
  let g: Group | undefined
  afterEach(async () => {
    mock.timers.reset()
    await g?.close()
    g = undefined
  })

  it('aborts the handler at exactly the deadline, commits below its record, and the next owner redoes it', async () => {
    g = group()
    for (let i = 0; i < 5; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
    // Offset 2 hangs and ignores its signal; the others complete at once.
    const handler = new ControlledHandler((offset) => offset !== 2n)
    const a = await g.member('a', handler.for('a'), {}, { drainTimeoutMs: 500 })
    await a.consumer.assign([TP0])
    const stuck = await handler.started(2n)

    mock.timers.enable({ apis: ['setTimeout'] })
    const revoked = a.consumer.revoke([TP0])
    mock.timers.tick(499)
    await Promise.resolve()
    assert.equal(stuck.ctx.signal.aborted, false, 'not aborted before the deadline')
    mock.timers.tick(1)
    await revoked
    mock.timers.reset()

    assert.equal(stuck.ctx.signal.aborted, true)
    assert.ok(stuck.ctx.signal.reason instanceof ProcessingAbortedError)
    assert.equal(stuck.ctx.signal.reason.code, 'PROCESSING_DRAIN_TIMEOUT')
    assert.equal(g.cluster.committedOffset('orders', 0), 2n, 'committed up to, not past, the aborted record')

    // The zombie handler returns after all: its record must stay uncommitted.
    handler.finish(2n)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(g.cluster.committedOffset('orders', 0), 2n)
    assert.equal(g.cluster.history.filter((e) => e.type === 'committed' && e.member === 'a').length, 1)

    handler.reset(2n)
    const b = await g.member('b', handler.for('b'))
    await b.consumer.assign([TP0])
    handler.finish(2n)
    await handler.started(4n)
    await b.app.stop()
    assert.equal(g.cluster.committedOffset('orders', 0), 5n)
    assert.deepEqual(handler.completedOffsets('b'), [2n, 3n, 4n], 'the new owner starts at the aborted record')
    const everyOffset = new Set(handler.completedOffsets())
    for (let offset = 0n; offset < 5n; offset++) assert.ok(everyOffset.has(offset), `offset ${offset} was processed`)
  })
})
