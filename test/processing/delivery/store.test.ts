/**
 * Store mode end to end, on PGlite and on a real PostgreSQL server (when BATON_TEST_POSTGRES is
 * set; see ../store/databases.ts). Invariants: the rows a handler writes through `ctx.tx` and the
 * partition's offset commit together, so the rows hold each input exactly once whatever happens
 * to members: a zombie's transaction is refused with none of its rows visible, a member crashing
 * in the middle of a database transaction leaves none of that transaction's rows, and a failing
 * handler's rows go while the record takes the route's retry / dead-letter path. Many records
 * share a transaction, up to `maxRecords`, or `maxMs` after it opened.
 *
 * The crash here is simulated in process (the member's database dies under its open transaction,
 * its consumer vanishes without a callback). `store-kill.test.ts` kills real member processes
 * with SIGKILL, against PostgreSQL and against a file-backed PGlite that the next member process
 * recovers.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { DLT_HEADERS } from '../../../src/processing/dead-letter.js'
import type { ConsumedRecord, Context } from '../../../src/processing/handler.js'
import type { Logger } from '../../../src/processing/logger.js'
import { silentLogger } from '../../../src/processing/logger.js'
import { StoreFencedError } from '../../../src/processing/store/errors.js'
import type { SqlTransaction } from '../../../src/processing/store/sql.js'
import { deferred, group, TP0, within, type Group, type Member } from '../helpers.js'
import { kinds, type TestDatabase } from '../store/databases.js'
import { createEffects, effectHandler, exactlyOnce, insertEffect, killable, storedOffset, until } from './store-helpers.js'

const TP1 = { topic: 'orders', partition: 1 }
const GROUP = 'test-group'


/** A logger that keeps the errors logged with warn/error, to see what a member was told. */
function recordingLogger(): { logger: Logger; errors: unknown[] } {
  const errors: unknown[] = []
  const keep = (fields: object): void => {
    const err = (fields as { err?: unknown }).err
    if (err !== undefined) errors.push(err)
  }
  const logger: Logger = { ...silentLogger, warn: keep, error: keep, child: () => logger }
  return { logger, errors }
}

async function distinctTransactions(db: TestDatabase, partition = 0): Promise<number> {
  const result = await db.database.query('SELECT count(DISTINCT txid) AS n FROM effects WHERE partition = $1', [partition])
  return Number(result.rows[0]?.n)
}

for (const kind of kinds) {
  describe(`delivery: 'store' on ${kind.name}`, { skip: kind.skip }, () => {
    let g: Group | undefined
    let db: TestDatabase | undefined
    afterEach(async () => {
      await g?.close()
      await db?.close()
      g = undefined
      db = undefined
    })

    async function setUp(partitions = 1): Promise<{ g: Group; db: TestDatabase }> {
      g = group('orders', partitions)
      db = await kind.open()
      await createEffects(db.database)
      return { g, db }
    }

    it('writes each record once with its offset; the group starts from the store and Kafka follows it', async () => {
      const { g, db } = await setUp(2)
      for (let i = 0; i < 50; i++) {
        g.cluster.produce('orders', 0, { value: `a${i}` })
        g.cluster.produce('orders', 1, { value: `b${i}` })
      }
      const a = await g.member('a', effectHandler('a'), { delivery: 'store' }, { store: { database: db.database }, commitIntervalMs: 0 })
      await a.consumer.assign([TP0, TP1])
      await until(async () => (await storedOffset(db.database, GROUP, 0)) === 50n && (await storedOffset(db.database, GROUP, 1)) === 50n, 'both partitions stored')
      assert.deepEqual(await exactlyOnce(db.database, 50n, 0), { missing: [], duplicated: [], extra: [] })
      assert.deepEqual(await exactlyOnce(db.database, 50n, 1), { missing: [], duplicated: [], extra: [] })
      await a.app.stop()
      assert.equal(g.cluster.committedOffset('orders', 0), 50n, 'Kafka got the offsets the database holds')
      assert.equal(g.cluster.committedOffset('orders', 1), 50n)

      // The store is ahead of Kafka (say Kafka's commit was lost): a new member starts at the store's offset.
      await db.database.query('UPDATE baton_offsets SET next_offset = 55 WHERE partition = 0')
      for (let i = 0; i < 10; i++) g.cluster.produce('orders', 0, { value: `c${i}` })
      const b = await g.member('b', effectHandler('b'), { delivery: 'store' }, { store: { database: db.database } })
      await b.consumer.assign([TP0])
      await until(async () => (await storedOffset(db.database, GROUP, 0)) === 60n, 'the new records stored')
      const written = await db.database.query("SELECT record_offset FROM effects WHERE member = 'b' ORDER BY record_offset")
      assert.deepEqual(written.rows.map((r) => Number(r.record_offset)), [55, 56, 57, 58, 59], 'records below the store offset were skipped as done')
    })

    it('batches: a transaction commits at maxRecords, and at maxMs when fewer records come', async () => {
      const { g, db } = await setUp(2)
      for (let i = 0; i < 60; i++) g.cluster.produce('orders', 0, { value: `a${i}` })
      const a = await g.member('a', effectHandler('a'), { delivery: 'store' }, { store: { database: db.database, maxRecords: 15, maxMs: 600_000 } })
      await a.consumer.assign([TP0, TP1])
      await until(async () => (await storedOffset(db.database, GROUP, 0)) === 60n, 'four full transactions')
      assert.equal(await distinctTransactions(db, 0), 4, '60 records in transactions of 15')

      // Three records on the other partition never fill a transaction: its age commits them.
      await a.app.stop()
      const b = await g.member('b', effectHandler('b'), { delivery: 'store' }, { store: { database: db.database, maxRecords: 10_000, maxMs: 50 } })
      for (let i = 0; i < 3; i++) g.cluster.produce('orders', 1, { value: `b${i}` })
      await b.consumer.assign([TP1])
      await until(async () => (await storedOffset(db.database, GROUP, 1)) === 3n, 'the transaction committed by age', 5000)
      assert.deepEqual(await exactlyOnce(db.database, 3n, 1), { missing: [], duplicated: [], extra: [] })
    })

    it('on one connection (PGlite): a partition whose records pause commits at once while another waits for the connection, not at maxMs', { skip: kind.name === 'pglite' ? undefined : 'a pool serves both transactions at once', timeout: 20_000 }, async () => {
      const { g, db } = await setUp(2)
      for (let i = 0; i < 3; i++) {
        g.cluster.produce('orders', 0, { value: `a${i}` })
        g.cluster.produce('orders', 1, { value: `b${i}` })
      }
      const a = await g.member('a', effectHandler('a'), { delivery: 'store' }, { store: { database: db.database, maxRecords: 10_000, maxMs: 600_000 } })
      await a.consumer.assign([TP0, TP1])
      // Neither bound is reached: only the commit on a pause frees the connection for the other partition.
      await until(async () => (await storedOffset(db.database, GROUP, 0)) === 3n && (await storedOffset(db.database, GROUP, 1)) === 3n, 'both partitions stored', 10_000)
      assert.deepEqual(await exactlyOnce(db.database, 3n, 0), { missing: [], duplicated: [], extra: [] })
      assert.deepEqual(await exactlyOnce(db.database, 3n, 1), { missing: [], duplicated: [], extra: [] })
    })

    it("rolls a failing attempt's rows back; the retry's stay, and a record that keeps failing is dead-lettered with no rows", async () => {
      const { g, db } = await setUp()
      for (let i = 0; i < 10; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
      let failedOnce = false
      let swallowed = false
      const handler = async (record: ConsumedRecord, ctx: Context): Promise<void> => {
        await insertEffect('a', ctx, record)
        if (record.offset === 3n && !failedOnce) {
          failedOnce = true
          throw new Error('transient')
        }
        if (record.offset === 5n) throw new Error('poison')
        if (record.offset === 7n && !swallowed) {
          swallowed = true
          // A failed statement the handler catches still fails the attempt: the transaction could not go on.
          await ctx.tx.query('INSERT INTO no_such_table VALUES (1)').catch(() => undefined)
        }
      }
      const a = await g.member('a', handler, { delivery: 'store', retries: { retries: 2, initialBackoffMs: 1, maxBackoffMs: 1 } }, { store: { database: db.database } })
      await a.consumer.assign([TP0])
      await until(async () => (await storedOffset(db.database, GROUP, 0)) === 10n, 'all ten records stored')
      const counts = await exactlyOnce(db.database, 10n)
      assert.deepEqual(counts.duplicated, [], 'the failed attempts of offsets 3 and 7 left no row')
      assert.deepEqual(counts.missing, [5n], 'the poison record left no row of its three attempts')
      const dead = g.producer.sent.filter((r) => r.topic === 'orders.DLT')
      assert.equal(dead.length, 1)
      assert.equal(String(dead[0]?.headers?.find((h) => h.key === DLT_HEADERS.sourceOffset)?.value), '5')
    })

    /**
     * Member 'a' on orders-0 with `records` records, one open database transaction for all of them
     * (no count or age ends it), its handler held at offset `heldAt` until `release()`.
     */
    async function heldInTransaction(g: Group, db: TestDatabase, records: number, heldAt: bigint): Promise<{ a: Member; release: () => void }> {
      for (let i = 0; i < records; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
      const held = deferred()
      const reached = deferred()
      const handler = async (record: ConsumedRecord, ctx: Context): Promise<void> => {
        await insertEffect('a', ctx, record)
        if (record.offset === heldAt) {
          reached.resolve()
          await held.promise
        }
      }
      const a = await g.member('a', handler, { delivery: 'store' }, { store: { database: db.database, maxRecords: 10_000, maxMs: 600_000 } })
      await a.consumer.assign([TP0])
      await within(reached.promise, 10_000, `offset ${heldAt} running`)
      return { a, release: () => held.resolve() }
    }

    it('on revocation: drains, commits the open transaction with its offset (and Kafka the same offset), then releases', async () => {
      const { g, db } = await setUp()
      const { a, release } = await heldInTransaction(g, db, 20, 5n)
      // (PGlite has one connection, which the open transaction holds: only PostgreSQL can look meanwhile.)
      if (db.second !== undefined) assert.equal(await storedOffset(db.second, GROUP, 0), -1n, 'nothing committed yet: one open transaction')
      const revoked = a.consumer.revoke([TP0])
      release()
      await revoked
      assert.equal(await storedOffset(db.database, GROUP, 0), 6n, 'the drained record and those before it, stored before the release')
      assert.equal(g.cluster.committedOffset('orders', 0), 6n, 'and committed to Kafka before the release')
      const b = await g.member('b', effectHandler('b'), { delivery: 'store' }, { store: { database: db.database } })
      await b.consumer.assign([TP0])
      await until(async () => (await storedOffset(db.database, GROUP, 0)) === 20n, 'the next owner stores the rest')
      assert.deepEqual(await exactlyOnce(db.database, 20n), { missing: [], duplicated: [], extra: [] })
    })

    it('on loss: rolls the open transaction back at once; the next owner redoes its records', async () => {
      const { g, db } = await setUp()
      const { a, release } = await heldInTransaction(g, db, 10, 3n)
      await a.consumer.lose([TP0])
      const b = await g.member('b', effectHandler('b'), { delivery: 'store' }, { store: { database: db.database } })
      await b.consumer.assign([TP0])
      await until(async () => (await storedOffset(db.database, GROUP, 0)) === 10n, 'the next owner stores the partition')
      release()
      assert.deepEqual(await exactlyOnce(db.database, 10n), { missing: [], duplicated: [], extra: [] })
      const aRows = await db.database.query("SELECT count(*) AS n FROM effects WHERE member = 'a'")
      assert.equal(Number(aRows.rows[0]?.n), 0, "none of the lost member's rows")
    })

    it('a statement on a transaction that has ended is refused, never run on its own (outside any transaction)', async () => {
      const { db } = await setUp()
      let kept: SqlTransaction | undefined
      await db.database.transaction(async (tx) => {
        kept = tx
        await tx.query("INSERT INTO effects VALUES ('inside', 'orders', 0, 1, 0)")
      }, 60_000)
      await assert.rejects(kept!.query("INSERT INTO effects VALUES ('after', 'orders', 0, 2, 0)"))
      const rows = await db.database.query('SELECT member FROM effects ORDER BY record_offset')
      assert.deepEqual(rows.rows.map((r) => r.member), ['inside'])
    })

    it('refuses a zombie: none of its rows become visible, and the partition holds each record once', async () => {
      const { g, db } = await setUp()
      for (let i = 0; i < 20; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
      const stall = deferred()
      const reached = deferred()
      const zombieHandler = async (record: ConsumedRecord, ctx: Context): Promise<void> => {
        await insertEffect('zombie', ctx, record)
        if (record.offset === 5n) {
          reached.resolve()
          await stall.promise
        }
      }
      const { logger, errors } = recordingLogger()
      const zombie = await g.member('zombie', zombieHandler, { delivery: 'store', retries: false }, { store: { database: db.database, maxRecords: 1 }, logger })
      await zombie.consumer.assign([TP0])
      await within(reached.promise, 10_000, 'the zombie in the middle of offset 5')
      // Its generation ends without its knowing (paused past its session): the group gives the partition to another member.
      zombie.consumer.crash()
      const owner = await g.member('owner', effectHandler('owner'), { delivery: 'store' }, { store: { database: db.second ?? db.database, maxRecords: 1 } })
      // On PGlite the claim waits for the zombie's open transaction (one connection); on PostgreSQL it does not.
      const claimed = owner.consumer.assign([TP0])
      if (db.second !== undefined) await claimed
      stall.resolve()
      await claimed
      await until(async () => (await storedOffset(db.database, GROUP, 0)) === 20n, 'the owner stores the partition')
      await until(() => Promise.resolve(errors.some((e) => e instanceof StoreFencedError)), 'the zombie told it was fenced')
      await until(() => Promise.resolve(zombie.app.health().queued === 0 && zombie.app.health().inFlight === 0), 'the zombie done with its queue')
      assert.deepEqual(g.producer.sent, [], 'the fenced zombie aborted its remaining records instead of dead-lettering them')
      assert.deepEqual(await exactlyOnce(db.database, 20n), { missing: [], duplicated: [], extra: [] })
      const zombieRows = await db.database.query("SELECT record_offset FROM effects WHERE member = 'zombie' ORDER BY record_offset")
      const last = zombieRows.rows.map((r) => Number(r.record_offset)).at(-1) ?? -1
      const ownerFirst = await db.database.query("SELECT min(record_offset) AS m FROM effects WHERE member = 'owner'")
      assert.equal(Number(ownerFirst.rows[0]?.m), last + 1, "the owner started where the zombie's last committed transaction ended")
    })

    it('a member crashing in the middle of a database transaction leaves none of its rows; the next owner redoes them', async () => {
      const { g, db } = await setUp()
      for (let i = 0; i < 20; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
      const dying = killable(db.database)
      const midway = deferred()
      const never = deferred()
      const handler = async (record: ConsumedRecord, ctx: Context): Promise<void> => {
        await insertEffect('crashed', ctx, record)
        if (record.offset === 7n) {
          midway.resolve()
          await never.promise
        }
      }
      const crashed = await g.member('crashed', handler, { delivery: 'store' }, { store: { database: dying.database, maxRecords: 5, maxMs: 600_000 } })
      await crashed.consumer.assign([TP0])
      await within(midway.promise, 10_000, 'the member in the middle of its second transaction')
      // Rows 5, 6 and 7 are in the open transaction. The process dies: its consumer and its connection go.
      crashed.consumer.crash()
      dying.kill()
      never.resolve()
      const next = await g.member('next', effectHandler('next'), { delivery: 'store' }, { store: { database: db.database } })
      await next.consumer.assign([TP0])
      await until(async () => (await storedOffset(db.database, GROUP, 0)) === 20n, 'the next owner stores the partition')
      assert.deepEqual(await exactlyOnce(db.database, 20n), { missing: [], duplicated: [], extra: [] })
      const crashedRows = await db.database.query("SELECT record_offset FROM effects WHERE member = 'crashed' ORDER BY record_offset")
      assert.deepEqual(crashedRows.rows.map((r) => Number(r.record_offset)), [0, 1, 2, 3, 4], 'only the committed transaction of the crashed member is visible')
    })
  })
}
