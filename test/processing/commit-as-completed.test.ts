/**
 * Invariant: with the default `commitIntervalMs: 0`, done work is committed as it completes, with
 * no revocation, stop or interval needed, and one commit in flight at a time: a crash then redoes
 * only what finished within about one commit round trip. A positive `commitIntervalMs` keeps
 * interval commits (and none in between).
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { group, TP0, within, type Group } from './helpers.js'
import type { HistoryEntry } from '../../src/processing/testing/fake-consumer.js'
import { StaleGenerationError } from '../../src/processing/errors.js'

const committedAt = (offset: bigint) => (e: HistoryEntry) => e.type === 'committed' && e.offsets.some((o) => o.partition === 0 && o.offset === offset)

describe('commits as work completes', () => {
  let g: Group | undefined
  afterEach(async () => {
    await g?.close()
    g = undefined
  })

  it('commits every finished record without a revocation, a stop or an interval', async () => {
    g = group()
    for (let i = 0; i < 50; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
    const a = await g.member('a', () => new Promise((resolve) => setImmediate(resolve)), {}, { commitIntervalMs: 0 })
    await a.consumer.assign([TP0])
    await g.cluster.waitFor(committedAt(50n), 10_000)
    assert.equal(g.cluster.committedOffset('orders', 0), 50n)
  })

  it('keeps one commit in flight: the next one carries what finished meanwhile', async () => {
    g = group()
    for (let i = 0; i < 20; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
    let inFlight = 0
    let most = 0
    const a = await g.member('a', () => Promise.resolve(), {}, { commitIntervalMs: 0 })
    const commit = a.consumer.commit.bind(a.consumer)
    a.consumer.commit = async (offsets) => {
      most = Math.max(most, ++inFlight)
      try {
        await new Promise((resolve) => setTimeout(resolve, 20))
        await commit(offsets)
      } finally {
        inFlight--
      }
    }
    await a.consumer.assign([TP0])
    await g.cluster.waitFor(committedAt(20n), 10_000)
    assert.equal(most, 1, 'never two commits at once')
    // Completions during a commit go into the next one: far fewer commits than records.
    const commits = g.cluster.history.filter((e) => e.type === 'committed').length
    assert.ok(commits <= 5, `${commits} commits for 20 records finishing during 20 ms commits`)
  })

  it('a commit refused by a rebalance goes again with nothing more completing: the last records are committed', async () => {
    g = group()
    for (let i = 0; i < 5; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
    const a = await g.member('a', () => Promise.resolve(), {}, { commitIntervalMs: 0 })
    const commit = a.consumer.commit.bind(a.consumer)
    let refusedLast = false
    a.consumer.commit = async (offsets) => {
      // The commit carrying the last record is refused once, as a rebalance does; no completion is left to ask for another.
      if (!refusedLast && offsets.some((o) => o.offset === 5n)) {
        refusedLast = true
        throw new StaleGenerationError('the group is rebalancing')
      }
      await commit(offsets)
    }
    await a.consumer.assign([TP0])
    await g.cluster.waitFor(committedAt(5n), 10_000)
    assert.ok(refusedLast)
  })

  it('with a positive commitIntervalMs, commits only on the interval', async () => {
    g = group()
    for (let i = 0; i < 5; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
    let settled = 0
    let settledResolve: () => void = () => undefined
    const allDone = new Promise<void>((resolve) => (settledResolve = resolve))
    const a = await g.member('a', () => {
      if (++settled === 5) settledResolve()
      return Promise.resolve()
    }, {}, { commitIntervalMs: 3_600_000 })
    await a.consumer.assign([TP0])
    await within(allDone, 5000, 'the five records')
    // Several event-loop turns for a completion commit, had there been one, to go out.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(g.cluster.history.filter((e) => e.type === 'committed'), [])
  })
})
