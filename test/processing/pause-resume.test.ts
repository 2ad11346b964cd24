/**
 * Invariant: a partition paused by the application (`ctx.pause()` or `app.pause`) starts no record
 * until resumed; the records running finish and are committed; other partitions go on; resuming
 * continues in offset order from where it stopped.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ControlledHandler, group, within, type Group } from './helpers.js'

const tp = (partition: number) => ({ topic: 'orders', partition })

describe('pause and resume from the application', () => {
  let g: Group | undefined
  afterEach(async () => {
    await g?.close()
    g = undefined
  })

  it('ctx.pause() holds the partition until its resume function is called; app.pause/resume do the same from outside', async () => {
    g = group('orders', 2)
    for (let i = 0; i < 3; i++) {
      g.cluster.produce('orders', 0, { value: `a${i}` })
      g.cluster.produce('orders', 1, { value: `b${i}` })
    }
    const handler = new ControlledHandler((offset, partition) => partition === 1 || offset > 0n)
    let resume: (() => void) | undefined
    const a = await g.member('a', async (record, ctx) => {
      if (record.partition === 0 && record.offset === 0n) resume = ctx.pause()
      await handler.for('a')(record, ctx)
    })
    await a.consumer.assign([tp(0), tp(1)])
    await handler.started(0n, 0)
    assert.deepEqual(a.app.paused(), [tp(0)])
    handler.finish(0n, 0)
    // Partition 1 goes on while 0 is paused.
    await handler.started(2n, 1)
    assert.deepEqual(
      handler.calls.filter((c) => c.partition === 0).map((c) => c.offset),
      [0n],
      'nothing more of the paused partition started',
    )
    resume?.()
    await handler.started(2n, 0)
    assert.deepEqual(handler.calls.filter((c) => c.partition === 0).map((c) => c.offset), [0n, 1n, 2n])

    // From outside: app.pause / app.resume.
    assert.deepEqual(a.app.pause([tp(0), { topic: 'orders', partition: 9 }]), [tp(0)], 'only owned partitions')
    g.cluster.produce('orders', 0, { value: 'a3' })
    g.cluster.produce('orders', 1, { value: 'b3' })
    await handler.started(3n, 1)
    assert.equal(handler.calls.some((c) => c.partition === 0 && c.offset === 3n), false)
    assert.deepEqual(a.app.resume([tp(0)]), [tp(0)])
    await within(handler.started(3n, 0))
    assert.deepEqual(a.app.paused(), [])
  })
})
