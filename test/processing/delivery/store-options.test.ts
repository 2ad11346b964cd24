/**
 * Store mode's options and edges, on PGlite: batch handlers (a batch's rows commit with the offset
 * after its last record), `ctx.tx` refused once its handler settled or in another mode, and the
 * configuration errors (no database, key ordering).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { baton, type BatonApp } from '../../../src/processing/app.js'
import { ConfigError } from '../../../src/processing/errors.js'
import type { Context } from '../../../src/processing/handler.js'
import { silentLogger } from '../../../src/processing/logger.js'
import { StoreModeRequiredError } from '../../../src/processing/store/errors.js'
import type { FakeConsumer } from '../../../src/processing/testing/fake-consumer.js'
import { deferred, group, TP0, within, type Group } from '../helpers.js'
import { kinds, type TestDatabase } from '../store/databases.js'
import { createEffects, exactlyOnce, insertEffect, storedOffset, until } from './store-helpers.js'

const GROUP = 'test-group'

/**
 * An app of group GROUP in store mode on a fresh PGlite database with the effects table, over a
 * fake group whose partition orders-0 holds `records` records; `run` gets them, and the database is
 * closed after it.
 */
async function withStoreApp(member: string, records: number, run: (s: { g: Group; db: TestDatabase; consumer: FakeConsumer; app: BatonApp }) => Promise<void>): Promise<void> {
  const g = group('orders', 1)
  const db = await kinds[0]!.open()
  try {
    await createEffects(db.database)
    for (let i = 0; i < records; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
    const consumer = g.cluster.member(member)
    const app = baton({ groupId: GROUP, consumer, logger: silentLogger, signals: false, store: { database: db.database } })
    await run({ g, db, consumer, app })
  } finally {
    await db.close()
    await g.close()
  }
}

describe("delivery: 'store' with batch handlers, on PGlite", () => {
  it("a batch's rows commit with the offset after its last record; ctx.tx after the handler settled is refused", async () => {
    await withStoreApp('batcher', 30, async ({ db, consumer, app }) => {
      const late = deferred<unknown>()
      let kept: Context | undefined
      app.consumeBatch(
        'orders',
        async (records, ctx) => {
          for (const record of records) await insertEffect('batcher', ctx, record)
          kept ??= ctx
        },
        { delivery: 'store', maxRecords: 7, deadLetter: false },
      )
      await app.start()
      await consumer.assign([TP0])
      await until(async () => (await storedOffset(db.database, GROUP, 0)) === 30n, 'all batches stored')
      assert.deepEqual(await exactlyOnce(db.database, 30n), { missing: [], duplicated: [], extra: [] })
      kept!.tx.query('SELECT 1').then(
        () => late.resolve(undefined),
        (error: unknown) => late.resolve(error),
      )
      assert.ok((await within(late.promise)) instanceof StoreModeRequiredError)
      await app.stop()
    })
  })
})

describe("delivery: 'store' configuration", () => {
  it('needs the database, refuses key ordering, and ctx.tx in another mode is a typed error', async () => {
    const g = group('orders', 1)
    const app = baton({ groupId: 'g', consumer: g.cluster.member('x'), logger: silentLogger, signals: false })
    assert.throws(() => app.consume('orders', async () => {}, { delivery: 'store' }), (e: Error) => e instanceof ConfigError && /baton\(\{ store/.test(e.message))
    const db = await kinds[0]!.open()
    try {
      const withStore = baton({ groupId: 'g', consumer: g.cluster.member('y'), logger: silentLogger, signals: false, store: { database: db.database } })
      assert.throws(() => withStore.consume('orders', async () => {}, { delivery: 'store', ordering: 'key' }), /ordering/)
      g.cluster.produce('orders', 0, { value: 'v' })
      const seen = deferred<unknown>()
      const plain = await g.member('z', (_record, ctx) => {
        try {
          void ctx.tx
          seen.resolve(undefined)
        } catch (error) {
          seen.resolve(error)
        }
        return Promise.resolve()
      })
      await plain.consumer.assign([TP0])
      assert.ok((await within(seen.promise)) instanceof StoreModeRequiredError)
      await g.close()
    } finally {
      await db.close()
    }
  })
})

describe("delivery: 'store' and seek", () => {
  it('a seek of a store route is refused with a ConfigError saying how to move its position instead, and processing goes on', async () => {
    await withStoreApp('seeker', 5, async ({ g, db, consumer, app }) => {
      app.consume(
        'orders',
        async (record, ctx) => {
          await insertEffect('seeker', ctx, record)
        },
        { delivery: 'store', deadLetter: false },
      )
      await app.start()
      await consumer.assign([TP0])
      await until(async () => (await storedOffset(db.database, GROUP, 0)) === 5n, 'the first records stored')
      await assert.rejects(
        app.seek(TP0, 0n),
        (e: unknown) => e instanceof ConfigError && e.message.includes("delivery 'store'"),
      )
      g.cluster.produce('orders', 0, { value: 'v5' })
      await until(async () => (await storedOffset(db.database, GROUP, 0)) === 6n, 'the next record stored after the refused seek')
      assert.deepEqual(await exactlyOnce(db.database, 6n), { missing: [], duplicated: [], extra: [] })
      await app.stop()
    })
  })
})
