/**
 * Invariant: handlers that settle without waiting on I/O never starve the event loop. Records of a
 * long queue would otherwise run back to back in microtasks, and no timer (heartbeats, session
 * expiry, interval commits) or socket callback (fetch responses) would run until the queue was
 * empty; with a long enough queue the member would be evicted for a handler that is merely busy.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { baton } from '../../src/processing/app.js'
import type { ConcurrencyMode } from '../../src/processing/partition-worker.js'
import { silentLogger } from '../../src/processing/logger.js'
import { deferred, group, TP0, within, type Group } from './helpers.js'

const RECORDS = 300

/** A millisecond of CPU, then a promise that is already settled: no I/O, no timer. */
function busy(): Promise<void> {
  const until = performance.now() + 1
  while (performance.now() < until);
  return Promise.resolve()
}

describe('event loop turns', () => {
  let g: Group | undefined
  afterEach(async () => {
    await g?.close()
    g = undefined
  })

  for (const mode of ['partition', 'key'] as const satisfies readonly ConcurrencyMode[]) {
    it(`lets timers run while ${RECORDS} CPU-bound records are processed back to back (${mode} mode)`, async () => {
      g = group()
      for (let i = 0; i < RECORDS; i++) g.cluster.produce('orders', 0, { key: `k${i % 7}`, value: `v${i}` })
      // One batch holds every record, so no fetch of the fake gives the event loop a turn.
      const consumer = g.cluster.member('a', { maxBatchRecords: RECORDS })
      let processed = 0
      const all = deferred()
      const timerFired = deferred<number>()
      const app = baton({ groupId: 'g', consumer, producer: g.producer, logger: silentLogger, signals: false })
      app.consume(
        'orders',
        async () => {
          // Armed by the first record, so that only a turn taken during processing can run it.
          if (processed === 0) setTimeout(() => timerFired.resolve(processed), 1)
          await busy()
          if (++processed === RECORDS) all.resolve()
        },
        { ordering: mode },
      )
      await app.start()
      try {
        await consumer.assign([TP0])
        const processedWhenTimerFired = await within(timerFired.promise, 10_000, 'the timer')
        await within(all.promise, 10_000, 'every record')
        // Without turns the timer runs only once all 300 ms of work are done.
        assert.ok(processedWhenTimerFired < RECORDS / 2, `the timer ran after ${processedWhenTimerFired} of ${RECORDS} records`)
      } finally {
        await app.stop()
      }
    })
  }
})
