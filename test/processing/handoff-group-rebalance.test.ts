/**
 * Invariant: across a run of graceful rebalances (a member joins, a member leaves) with records in
 * flight, every record is processed exactly once; when a member loses its partitions, records are
 * processed again only if that member had processed them after its last commit. Nothing is lost.
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { RecordHandler } from '../../src/processing/handler.js'
import { group, within, type Group, type Member } from './helpers.js'

const PARTITIONS = 6
const tp = (partition: number) => ({ topic: 'orders', partition })

/** Completes each record after 0-3 event-loop turns (a seeded sequence), so that rebalances find work in flight. */
class Ledger extends EventEmitter {
  readonly completions = new Map<string, string[]>()
  private seed = 7

  handler(member: string): RecordHandler {
    return async (record) => {
      this.seed = (this.seed * 1103515245 + 12345) % 2 ** 31
      for (let turns = this.seed % 4; turns > 0; turns--) await new Promise((resolve) => setImmediate(resolve))
      const key = `${record.partition}:${record.offset}`
      const members = this.completions.get(key) ?? []
      members.push(member)
      this.completions.set(key, members)
      this.emit('completed')
    }
  }

  /** Resolves once `count` distinct records have completed. */
  reach(count: number): Promise<void> {
    return this.until(() => this.completions.size >= count, `${count} distinct records to complete`)
  }

  /** Resolves once `member` has completed every record of `partition` from `from` to `to` (exclusive). */
  caughtUp(member: string, partition: number, from: bigint, to: bigint): Promise<void> {
    const done = (): boolean => {
      for (let offset = from; offset < to; offset++) if (this.completions.get(`${partition}:${offset}`)?.includes(member) !== true) return false
      return true
    }
    return this.until(done, `${member} to complete ${partition}:${from}..${to - 1n}`)
  }

  /** Every record of partitions 0..partitions-1 below `to` completed by someone. */
  allDone(partitions: number, to: number): Promise<void> {
    const done = (): boolean => {
      for (let p = 0; p < partitions; p++) for (let offset = 0; offset < to; offset++) if (!this.completions.has(`${p}:${offset}`)) return false
      return true
    }
    return this.until(done, `every record of ${partitions} partitions up to ${to - 1} to complete`)
  }

  private until(condition: () => boolean, what: string): Promise<void> {
    if (condition()) return Promise.resolve()
    return within(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!condition()) return
          this.off('completed', check)
          resolve()
        }
        this.on('completed', check)
      }),
      10_000,
      what,
    )
  }
}

describe('hand-off: a group through joins, leaves and a loss', () => {
  let g: Group | undefined
  afterEach(async () => {
    await g?.close()
    g = undefined
  })

  it('has zero duplicates across graceful rebalances and duplicates only from the lost member', async () => {
    g = group('orders', PARTITIONS)
    const produce = (perPartition: number): void => {
      for (let p = 0; p < PARTITIONS; p++) for (let i = 0; i < perPartition; i++) g?.cluster.produce('orders', p, { key: `k${i % 5}`, value: `v${i}` })
    }
    produce(40)
    const ledger = new Ledger()
    const opts = { ordering: 'key' as const }
    const members = new Map<string, Member>()
    for (const id of ['a', 'b', 'c', 'd']) members.set(id, await g.member(id, ledger.handler(id), opts))
    const m = (id: string): Member => members.get(id) as Member

    await Promise.all([m('a').consumer.assign([tp(0), tp(1)]), m('b').consumer.assign([tp(2), tp(3)]), m('c').consumer.assign([tp(4), tp(5)])])
    await ledger.reach(60)

    // d joins: a and b each hand one partition over.
    await Promise.all([m('a').consumer.revoke([tp(1)]), m('b').consumer.revoke([tp(3)])])
    await m('d').consumer.assign([tp(1), tp(3)])
    produce(40)
    await ledger.reach(200)

    // c leaves the group gracefully; a and b take its partitions.
    await m('c').app.stop()
    await Promise.all([m('a').consumer.assign([tp(4)]), m('b').consumer.assign([tp(5)])])
    await ledger.reach(300)
    const graceful = [...ledger.completions.values()].filter((who) => who.length > 1).length
    assert.equal(graceful, 0, 'no record processed twice across the graceful rebalances')

    // b is fenced: its partitions are lost, uncommitted work of b is redone by d. Every record has
    // completed once by now, so d's progress is waited for by name: from each commit to the end.
    await m('b').consumer.lose([tp(2), tp(5)])
    const resumeAt = [2, 5].map((p) => g?.cluster.committedOffset('orders', p) ?? 0n)
    await m('d').consumer.assign([tp(2), tp(5)])
    await Promise.all([ledger.caughtUp('d', 2, resumeAt[0] as bigint, 80n), ledger.caughtUp('d', 5, resumeAt[1] as bigint, 80n)])
    // The other owners' partitions are waited for too: a stop hands over what is queued undone.
    await ledger.allDone(PARTITIONS, 80)
    for (const id of ['a', 'd']) await m(id).app.stop()

    const duplicates = [...ledger.completions.entries()].filter(([, who]) => who.length > 1)
    for (const [key, who] of duplicates) {
      assert.ok(who[0] === 'b' && who.length === 2, `${key} was processed by ${who.join(', ')}: only b's uncommitted work may repeat`)
    }
    for (let p = 0; p < PARTITIONS; p++) {
      assert.equal(g.cluster.committedOffset('orders', p), 80n, `partition ${p} fully committed`)
      for (let offset = 0; offset < 80; offset++) assert.ok(ledger.completions.has(`${p}:${offset}`), `${p}:${offset} was processed`)
    }
    console.log(`group scenario: ${80 * PARTITIONS} records, ${duplicates.length} processed twice (all after the loss), 0 lost`)
  })
})
