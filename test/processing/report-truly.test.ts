/**
 * What the framework reports must stay true across rebalances and under load:
 * - a partition's lag and committed-offset series leave an instance with the partition, so lag
 *   summed over instances is the real lag (not the last lag each former owner saw, forever);
 * - `ctx.signal` may be passed to a timer by every one of 1 000 handlers running at once in key
 *   mode without Node warning of a listener leak outside the logger;
 * - a revocation is logged at info with the partitions revoked, the offsets committed for them and
 *   what is still owned.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { Registry } from 'prom-client'
import { recordingLogger, type LogLine } from '../helpers/logging.js'
import { ControlledHandler, deferred, group, within, type Group } from './helpers.js'

const tp = (partition: number) => ({ topic: 'orders', partition })

async function series(registry: Registry, name: string): Promise<string[]> {
  const metric = await registry.getSingleMetric(name)?.get()
  return (metric?.values ?? []).map((v) => `${String(v.labels['topic'])}[${String(v.labels['partition'])}]=${v.value}`).sort()
}

describe('reporting truly', () => {
  let g: Group | undefined
  afterEach(async () => {
    await g?.close()
    g = undefined
  })

  it('drops a partition’s lag and committed-offset series when it is revoked or lost, so lag summed over instances is the real lag', async () => {
    g = group('orders', 3)
    for (let p = 0; p < 3; p++) for (let i = 0; i < 4; i++) g.cluster.produce('orders', p, { value: `v${i}` })
    const handler = new ControlledHandler(() => true)
    const ra = new Registry()
    const rb = new Registry()
    const a = await g.member('a', handler.for('a'), {}, { metrics: { registry: ra } })
    await a.consumer.assign([tp(0), tp(1), tp(2)])
    for (let p = 0; p < 3; p++) await handler.started(3n, p)
    // A rebalance: partition 1 moves to b, partition 2 is lost by a.
    await a.consumer.revoke([tp(1)])
    await a.consumer.lose([tp(2)])
    const b = await g.member('b', handler.for('b'), {}, { metrics: { registry: rb } })
    await b.consumer.assign([tp(1)])
    await b.app.stop()

    const lagA = await series(ra, 'baton_consumer_lag')
    const committedA = await series(ra, 'baton_committed_offset')
    assert.ok(lagA.every((s) => s.startsWith('orders[0]')), `a reports lag only for what it owns: ${lagA.join(', ')}`)
    assert.ok(committedA.every((s) => s.startsWith('orders[0]')), `a reports committed offsets only for what it owns: ${committedA.join(', ')}`)
    // b stopped: it owns nothing, so it reports nothing.
    assert.deepEqual(await series(rb, 'baton_consumer_lag'), [])
    assert.deepEqual(await series(rb, 'baton_committed_offset'), [])
  })

  it('lets 1 000 key-mode handlers running at once each pass ctx.signal to a timer without a MaxListenersExceededWarning', async () => {
    const warnings: Error[] = []
    const onWarning = (warning: Error): void => void warnings.push(warning)
    process.on('warning', onWarning)
    try {
      g = group('orders', 1)
      const count = 1000
      for (let i = 0; i < count; i++) g.cluster.produce('orders', 0, { key: `k${i}`, value: `v${i}` })
      let running = 0
      let peak = 0
      const allRunning = deferred()
      const release = deferred()
      let done = 0
      const allDone = deferred()
      const a = await g.member(
        'a',
        async (_record, ctx) => {
          running++
          peak = Math.max(peak, running)
          if (running === count) allRunning.resolve()
          // The documented use: hand the signal to whatever waits, so a revocation cuts it short.
          const timer = sleep(60_000, undefined, { signal: ctx.signal, ref: false }).catch(() => undefined)
          await Promise.race([release.promise, timer])
          running--
          if (++done === count) allDone.resolve()
        },
        { ordering: 'key' },
        { concurrency: count, maxQueuedPerPartition: count },
      )
      await a.consumer.assign([tp(0)])
      await within(allRunning.promise, 20_000, `${count} handlers to run at once`)
      release.resolve()
      await within(allDone.promise, 20_000, 'every handler to finish')
      // Warnings are emitted on a later tick.
      await new Promise((resolve) => setImmediate(resolve))
      assert.equal(peak, count)
      assert.deepEqual(
        warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
        [],
      )
    } finally {
      process.off('warning', onWarning)
    }
  })
  it('logs a revocation at info with the partitions revoked, the offsets committed for them and what is still owned', async () => {
    g = group('orders', 2)
    for (let p = 0; p < 2; p++) for (let i = 0; i < 3; i++) g.cluster.produce('orders', p, { value: `v${i}` })
    const lines: LogLine[] = []
    let done = 0
    const allDone = deferred()
    const a = await g.member(
      'a',
      () => {
        if (++done === 6) allDone.resolve()
        return Promise.resolve()
      },
      {},
      { logger: recordingLogger(lines) },
    )
    await a.consumer.assign([tp(0), tp(1)])
    await within(allDone.promise, 5000, 'the six records')
    await a.consumer.revoke([tp(1)])
    const revoked = lines.filter((l) => l.message === 'partitions revoked')
    assert.equal(revoked.length, 1)
    assert.equal(revoked[0]!.level, 'info')
    assert.deepEqual(
      { revoked: revoked[0]!.fields['revoked'], committed: revoked[0]!.fields['committed'], owned: revoked[0]!.fields['owned'] },
      { revoked: ['orders[1]'], committed: ['orders[1]@3'], owned: ['orders[0]'] },
    )
  })
})
