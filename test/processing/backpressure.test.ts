/**
 * Invariant: a slow handler never makes memory grow with the backlog: a partition's fetching pauses
 * when its queue is full and resumes once it has drained to half, and every record still arrives.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { baton } from '../../src/processing/app.js'
import { silentLogger } from '../../src/processing/logger.js'
import { ControlledHandler, group, TP0, type Group } from './helpers.js'

describe('backpressure', () => {
  let g: Group | undefined
  afterEach(async () => {
    await g?.close()
    g = undefined
  })

  it('pauses fetching at maxQueuedPerPartition and resumes when drained', async () => {
    g = group()
    for (let i = 0; i < 200; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
    const handler = new ControlledHandler((offset) => offset !== 0n)
    const consumer = g.cluster.member('a', { maxBatchRecords: 10 })
    const app = baton({ groupId: 'g', consumer, producer: g.producer, logger: silentLogger, signals: false, maxQueuedPerPartition: 20 })
    app.consume('orders', handler.for('a'))
    await app.start()
    try {
      await consumer.assign([TP0])
      await g.cluster.waitFor((e) => e.type === 'paused')
      const health = app.health()
      assert.equal(health.inFlight, 1)
      assert.ok(health.queued >= 20 && health.queued < 30, `queued ${health.queued}: the limit plus at most one fetch`)

      handler.finish(0n)
      await g.cluster.waitFor((e) => e.type === 'resumed')
      await handler.started(199n)
    } finally {
      await app.stop()
    }
    assert.equal(new Set(handler.completedOffsets()).size, 200, 'every record arrived and was processed once')
    assert.equal(handler.completed.length, 200)
    assert.equal(g.cluster.committedOffset('orders', 0), 200n)
  })
})
