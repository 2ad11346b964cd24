import { afterEach, describe, it, mock } from 'node:test'
import assert from 'node:assert/strict'
import { Registry } from 'prom-client'
import {
  CHANNELS,
  type AssignedEvent,
  type CommittedEvent,
  type LostEvent,
  type RevokedEvent,
  type RevokingEvent,
} from '../../src/processing/instrumentation.js'
import { ControlledHandler, group, listen, TP0, type Group } from './helpers.js'

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = await registry.getSingleMetric(name)?.get()
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, value]) => String(v.labels[k]) === value))
  return match?.value
}

describe('instrumentation', () => {
  let g: Group | undefined
  afterEach(async () => {
    mock.timers.reset()
    await g?.close()
    g = undefined
  })

  it('publishes assigned, revoking, revoked, committed and lost events, and counts them in the registry passed in', async () => {
    const channels = {
      assigned: listen<AssignedEvent>(CHANNELS.assigned),
      revoking: listen<RevokingEvent>(CHANNELS.revoking),
      revoked: listen<RevokedEvent>(CHANNELS.revoked),
      committed: listen<CommittedEvent>(CHANNELS.committed),
      lost: listen<LostEvent>(CHANNELS.lost),
    }
    try {
      const registry = new Registry()
      g = group()
      for (let i = 0; i < 3; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
      const handler = new ControlledHandler(() => true)
      const a = await g.member('a', handler.for('a'), {}, { metrics: { registry } })
      await a.consumer.assign([TP0])
      await handler.started(2n)
      await a.consumer.revoke([TP0])
      await a.consumer.assign([TP0])
      await a.consumer.lose([TP0])

      assert.deepEqual(channels.assigned.messages.map((m) => m.partitions), [[TP0], [TP0]])
      assert.equal(channels.revoking.messages[0]?.reason, 'rebalance')
      const revoked = channels.revoked.messages[0]
      assert.deepEqual(revoked?.committed, [{ ...TP0, offset: 3n }])
      assert.equal(revoked?.aborted, 0)
      assert.equal(channels.committed.messages[0]?.reason, 'rebalance')
      assert.deepEqual(channels.lost.messages.map((m) => m.partitions), [[TP0]])

      assert.equal(await metricValue(registry, 'baton_records_processed_total', { topic: 'orders', outcome: 'done' }), 3)
      // The partition was lost last: its series left with it.
      assert.equal(await metricValue(registry, 'baton_committed_offset', { topic: 'orders', partition: '0' }), undefined)
      assert.equal(await metricValue(registry, 'baton_consumer_lag', { topic: 'orders', partition: '0' }), undefined)
      assert.equal(await metricValue(registry, 'baton_rebalances_total', { kind: 'assign' }), 2)
      assert.equal(await metricValue(registry, 'baton_rebalances_total', { kind: 'revoke' }), 1)
      assert.equal(await metricValue(registry, 'baton_rebalances_total', { kind: 'lost' }), 1)
      assert.equal(await metricValue(registry, 'baton_handlers_in_flight'), 0)
      assert.match(await registry.metrics(), /baton_handler_duration_seconds_count\{topic="orders"\} 3/)
    } finally {
      for (const channel of Object.values(channels)) channel.stop()
    }
  })

  it('reports lag from the high watermark while records wait', async () => {
    const registry = new Registry()
    g = group()
    for (let i = 0; i < 10; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
    const handler = new ControlledHandler((offset) => offset > 0n)
    const a = await g.member('a', handler.for('a'), {}, { metrics: { registry } })
    await a.consumer.assign([TP0])
    await handler.started(0n)
    assert.equal(await metricValue(registry, 'baton_consumer_lag', { topic: 'orders', partition: '0' }), 10)
    assert.equal(await metricValue(registry, 'baton_handlers_in_flight'), 1)
    handler.finish(0n)
  })

  it('reports the workers not live when no handler settles for livenessTimeoutMs while work waits', async () => {
    mock.timers.enable({ apis: ['Date'], now: 1_000_000 })
    g = group()
    g.cluster.produce('orders', 0, { value: 'v0' })
    g.cluster.produce('orders', 0, { value: 'v1' })
    const handler = new ControlledHandler()
    const a = await g.member('a', handler.for('a'), {}, { livenessTimeoutMs: 30_000 })
    assert.equal(a.app.health().live, true, 'idle is live')
    await a.consumer.assign([TP0])
    await handler.started(0n)
    mock.timers.tick(29_999)
    assert.deepEqual(a.app.health(), { ready: true, live: true, msSinceProgress: 29_999, inFlight: 1, queued: 1, partitions: 1 })
    mock.timers.tick(1)
    assert.equal(a.app.health().live, false)
    handler.finish(0n)
    await handler.started(1n)
    assert.equal(a.app.health().live, true, 'a settled handler is progress')
    handler.finish(1n)
  })

  it('commits done offsets on the commit interval', async () => {
    mock.timers.enable({ apis: ['setInterval'] })
    g = group()
    for (let i = 0; i < 3; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
    const handler = new ControlledHandler((offset) => offset < 2n)
    const a = await g.member('a', handler.for('a'), {}, { commitIntervalMs: 1000 })
    await a.consumer.assign([TP0])
    await handler.started(2n)
    mock.timers.tick(1000)
    await g.cluster.waitFor((e) => e.type === 'committed')
    assert.equal(g.cluster.committedOffset('orders', 0), 2n, 'up to the record still running')
    handler.finish(2n)
  })
})
