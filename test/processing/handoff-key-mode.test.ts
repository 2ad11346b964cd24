/**
 * Invariant: in key mode, records of one key run one at a time in offset order while other keys run
 * concurrently, and however they complete, the commit never passes a record that did not finish:
 * work done after an unfinished record is redone by the next owner rather than skipped.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ControlledHandler, group, TP0, type Group } from './helpers.js'

describe('hand-off: key mode with out-of-order completion', () => {
  let g: Group | undefined
  afterEach(async () => {
    await g?.close()
    g = undefined
  })

  it('runs keys concurrently in per-key order and commits only below the first unfinished record', async () => {
    g = group()
    for (const key of ['a', 'b', 'c', 'd', 'a']) g.cluster.produce('orders', 0, { key, value: key })
    const handler = new ControlledHandler()
    const a = await g.member('a', handler.for('a'), { concurrency: 'key' }, { drainTimeoutMs: 50 })
    await a.consumer.assign([TP0])

    await Promise.all([0n, 1n, 2n, 3n].map((offset) => handler.started(offset)))
    assert.equal(handler.calls.length, 4, 'offset 4 (key a) waits for offset 0 (key a)')
    handler.finish(3n)
    handler.finish(2n)
    handler.finish(0n)
    await handler.started(4n)
    assert.deepEqual(
      handler.calls.filter((c) => c.key === 'a').map((c) => c.offset),
      [0n, 4n],
    )

    // Offset 1 (key b) never finishes; 4 finishes during the drain. Done: 0, 2, 3, 4.
    const revoked = a.consumer.revoke([TP0])
    handler.finish(4n)
    await revoked
    assert.equal(g.cluster.committedOffset('orders', 0), 1n, 'not past offset 1, though 2, 3 and 4 are done')

    handler.finish(1n) // the aborted handler returns late; it changes nothing
    for (const offset of [1n, 2n, 3n, 4n]) handler.reset(offset)
    const b = await g.member('b', handler.for('b'), { concurrency: 'key' })
    await b.consumer.assign([TP0])
    for (const offset of [1n, 2n, 3n, 4n]) handler.finish(offset)
    await handler.call((c) => c.member === 'b' && c.offset === 4n)
    await b.app.stop()
    assert.deepEqual(
      handler.completedOffsets('b').sort((x, y) => (x < y ? -1 : 1)),
      [1n, 2n, 3n, 4n],
    )
    assert.equal(g.cluster.committedOffset('orders', 0), 5n)
  })
})
