/**
 * Invariant: on a graceful revocation, handlers already running finish (they see `ctx.revoking`),
 * their records are committed before the partition is released, and the new owner starts at that
 * commit. Across the hand-off every record is processed exactly once: zero duplicates, none lost.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { ControlledHandler, group, TP0, type Group } from './helpers.js'

describe('hand-off: revoke while handlers are in flight', () => {
  let g: Group | undefined
  afterEach(async () => {
    await g?.close()
    g = undefined
  })

  for (const concurrency of ['partition', 'key'] as const) {
    it(`${concurrency} mode: in-flight work finishes, is committed before release, and is not redone by the next owner`, async () => {
      g = group()
      for (let i = 0; i < 12; i++) g.cluster.produce('orders', 0, { key: `k${i % 4}`, value: `v${i}` })
      // Offsets 0-3 complete at once; 4 onwards wait for the test.
      const handler = new ControlledHandler((offset) => offset < 4n)
      const a = await g.member('a', handler.for('a'), { ordering: concurrency })
      await a.consumer.assign([TP0])

      const inFlight = concurrency === 'key' ? [4n, 5n, 6n, 7n] : [4n]
      const calls = await Promise.all(inFlight.map((offset) => handler.started(offset)))
      assert.ok(calls.every((call) => !call.ctx.revoking))

      const revoked = a.consumer.revoke([TP0])
      // Step 1: the handlers learn of the revocation while they still run.
      assert.ok(calls.every((call) => call.ctx.revoking && call.ctx.revokingSignal.aborted && !call.ctx.signal.aborted))
      const released = () => g?.cluster.history.some((e) => e.type === 'released')
      // Step 5 has not happened: the partition is held while its handlers run.
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(released(), false)
      for (const offset of [...inFlight].reverse()) handler.finish(offset)
      await revoked

      const next = inFlight[inFlight.length - 1]! + 1n
      assert.equal(g.cluster.committedOffset('orders', 0), next, 'the commit covers every record that finished')
      const commitAt = g.cluster.history.findIndex((e) => e.type === 'committed' && e.member === 'a')
      const releaseAt = g.cluster.history.findIndex((e) => e.type === 'released' && e.member === 'a')
      assert.ok(commitAt >= 0 && commitAt < releaseAt, 'committed before the partition was released')
      assert.ok(handler.calls.filter((c) => c.member === 'a').every((c) => c.offset < next), 'nothing dispatched after the revocation began')

      const b = await g.member('b', handler.for('b'), { ordering: concurrency })
      await b.consumer.assign([TP0])
      for (let offset = next; offset < 12n; offset++) handler.finish(offset)
      await handler.started(11n)
      await b.app.stop()
      assert.equal(g.cluster.committedOffset('orders', 0), 12n)

      const completed = handler.completedOffsets().map(Number).sort((x, y) => x - y)
      assert.deepEqual(completed, [...Array(12).keys()], 'each record processed exactly once across both owners')
      assert.equal(Math.min(...handler.completedOffsets('b').map(Number)), Number(next), 'the new owner starts at the commit')
    })
  }
})
