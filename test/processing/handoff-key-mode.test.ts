/**
 * Invariant: in key mode, records of one key run one at a time in offset order while other keys run
 * concurrently, and however they complete, the commit never passes a record that did not finish.
 * Records done above the commit point are named in the commit's metadata, so the next owner runs
 * exactly the records that did not finish: none is skipped, none runs twice.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { decodeDoneRanges } from '../../src/processing/offset-metadata.js'
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
    const a = await g.member('a', handler.for('a'), { ordering: 'key' }, { drainTimeoutMs: 50 })
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
    assert.deepEqual(decodeDoneRanges(1n, g.cluster.committedMetadata('orders', 0) ?? null), [[2n, 5n]], 'the metadata names 2 to 4 as done')

    handler.finish(1n) // the aborted handler returns late; it changes nothing
    handler.reset(1n)
    const b = await g.member('b', handler.for('b'), { ordering: 'key' })
    await b.consumer.assign([TP0])
    await handler.started(1n)
    handler.finish(1n)
    await b.app.stop()
    assert.deepEqual(handler.completedOffsets('b'), [1n], 'only the record that did not finish runs again')
    assert.equal(g.cluster.committedOffset('orders', 0), 5n)
  })

  it('a new owner skips records the previous owner finished above its commit, also after a crash', async () => {
    g = group()
    for (const key of ['a', 'b', 'c', 'd']) g.cluster.produce('orders', 0, { key, value: key })
    const handler = new ControlledHandler()
    const a = await g.member('a', handler.for('a'), { ordering: 'key' }, { commitIntervalMs: 10 })
    await a.consumer.assign([TP0])
    await Promise.all([0n, 1n, 2n, 3n].map((offset) => handler.started(offset)))
    handler.finish(1n)
    handler.finish(3n)
    // An interval commit carries the done records: offset 0 with 1 and 3 noted above it.
    await g.cluster.waitFor((e) => e.type === 'committed' && e.member === 'a' && e.offsets.some((o) => o.metadata !== undefined && decodeDoneRanges(o.offset, o.metadata).length === 2), 5000)
    await a.consumer.lose([TP0]) // a crash: no commit on the way out

    for (const offset of [0n, 2n]) handler.reset(offset)
    const b = await g.member('b', handler.for('b'), { ordering: 'key' })
    await b.consumer.assign([TP0])
    await Promise.all([0n, 2n].map((offset) => handler.started(offset)))
    handler.finish(0n)
    handler.finish(2n)
    await b.app.stop()
    assert.deepEqual(handler.completedOffsets('b').sort((x, y) => (x < y ? -1 : 1)), [0n, 2n], '1 and 3 are not run again')
    assert.equal(g.cluster.committedOffset('orders', 0), 4n)
  })

  it("commits with less metadata when the broker allows less, rather than failing the hand-off's commit", async () => {
    g = group('orders', 1, { offsetMetadataMaxBytes: 16 })
    for (const key of ['a', 'b', 'c', 'd']) g.cluster.produce('orders', 0, { key, value: key })
    const handler = new ControlledHandler((offset) => offset !== 0n)
    const a = await g.member('a', handler.for('a'), { ordering: 'key' }, { drainTimeoutMs: 50 })
    await a.consumer.assign([TP0])
    await handler.call((c) => c.offset === 3n)
    await a.consumer.revoke([TP0]) // offset 0 is aborted at the deadline; 1 to 3 are done above it
    const rejected = g.cluster.history.filter((e) => e.type === 'commit-rejected')
    assert.ok(rejected.length > 0 && rejected.every((e) => e.type === 'commit-rejected' && e.reason === 'metadata-too-large'), 'the full metadata was refused')
    assert.equal(g.cluster.committedOffset('orders', 0), 0n, 'the hand-off still committed')
    assert.equal(g.cluster.committedMetadata('orders', 0), '', 'without the ranges that did not fit')
  })
})
