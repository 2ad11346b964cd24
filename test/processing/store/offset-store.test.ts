/**
 * Store mode's offsets, on PGlite and on a real PostgreSQL server. Invariants: the effects of a
 * batch and the partition's next offset commit together or not at all; a member whose claim was
 * overtaken by a later generation (a zombie) can commit nothing, effects included; a claim of an
 * older generation than the row's is refused; and (PostgreSQL, real concurrency) a zombie that
 * is in the middle of a transaction when the partition moves, or frozen there, gets none of its
 * effects in.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { OffsetStore } from '../../../src/processing/store/offset-store.js'
import { StoreFencedError } from '../../../src/processing/store/errors.js'
import type { SqlTransaction } from '../../../src/processing/store/sql.js'
import { kinds, pglite, postgres, type TestDatabase } from './databases.js'

const GROUP = 'payments'
const TP = { topic: 'orders', partition: 3 }

/**
 * `effects` has a unique key per record, as a careful application's would; `effects_log` has none,
 * so that the property test sees a duplicate if the store ever let one through.
 */
async function effectsTable(db: TestDatabase): Promise<void> {
  await db.database.query('CREATE TABLE effects (topic text, partition int, record_offset bigint, PRIMARY KEY (topic, partition, record_offset))')
  await db.database.query('CREATE TABLE effects_log (topic text, partition int, record_offset bigint)')
}

/** The effect of processing records [from, to): one row each. */
function applyRecords(from: bigint, to: bigint, table = 'effects') {
  return async (tx: SqlTransaction): Promise<void> => {
    for (let o = from; o < to; o++) await tx.query(`INSERT INTO ${table} VALUES ($1, $2, $3)`, [TP.topic, TP.partition, o.toString()])
  }
}

async function effectOffsets(db: TestDatabase, table = 'effects'): Promise<bigint[]> {
  const result = await db.database.query(`SELECT record_offset FROM ${table} ORDER BY record_offset`)
  return result.rows.map((r) => BigInt(String(r.record_offset)))
}

for (const kind of kinds) {
  describe(`store mode offsets on ${kind.name}`, { skip: kind.skip }, () => {
    let db: TestDatabase
    let store: OffsetStore
    before(async () => {
      db = await kind.open()
      store = new OffsetStore({ database: db.database })
      await store.ensureSchema()
      await store.ensureSchema() // idempotent
      await effectsTable(db)
    })
    after(async () => {
      await db.close()
    })

    it('a first claim finds no offset; commits move it with their effects; the next owner starts there', async () => {
      const [claim] = await store.claim(`${GROUP}-a`, [TP], 1)
      assert.equal(claim!.nextOffset, null)
      const first = await store.commit(claim!, 10n, () => Promise.resolve('done'))
      assert.equal(first.result, 'done')
      const second = await store.commit(first.claim, 25n, () => Promise.resolve())
      assert.equal(second.claim.nextOffset, 25n)
      const [next] = await store.claim(`${GROUP}-a`, [TP], 2)
      assert.equal(next!.nextOffset, 25n)
      assert.deepEqual(await store.offsets(`${GROUP}-a`), new Map([['orders:3', 25n]]))
    })

    it('a zombie whose partition was claimed by a later generation commits nothing, effects included', async () => {
      const group = `${GROUP}-zombie`
      const [zombie] = await store.claim(group, [TP], 4)
      const [owner] = await store.claim(group, [TP], 5)
      await assert.rejects(store.commit(zombie!, 100n, applyRecords(1000n, 1005n)), StoreFencedError)
      assert.deepEqual(await effectOffsets(db).then((o) => o.filter((x) => x >= 1000n)), [], 'no effect of the zombie is visible')
      await store.commit(owner!, 5n, () => Promise.resolve())
      assert.deepEqual(await store.offsets(group), new Map([['orders:3', 5n]]))
    })

    it('refuses a claim of an older generation than the one stored', async () => {
      const group = `${GROUP}-stale`
      const [owner] = await store.claim(group, [TP], 7)
      await assert.rejects(store.claim(group, [TP], 6), (e: unknown) => e instanceof StoreFencedError && e.code === 'PROCESSING_STORE_FENCED' && e.partition === 3)
      await store.commit(owner!, 1n, () => Promise.resolve())
    })

    it('a refused claim names the claim the row holds; taking that claim over fences its holder, and only that claim can be taken over', async () => {
      const group = `${GROUP}-takeover`
      const [old] = await store.claim(group, [TP], 9)
      const stored = await store.commit(old!, 40n, () => Promise.resolve())
      // The group started over at generation 1: the claim is refused and says what holds the row.
      const refusal = await store.claim(group, [TP], 1).then(() => undefined, (e: unknown) => e)
      assert.ok(refusal instanceof StoreFencedError)
      assert.deepEqual({ generation: refusal.heldBy?.generation, nextOffset: refusal.heldBy?.nextOffset }, { generation: 9, nextOffset: 40n })
      const taken = await store.takeOver(group, TP, 1, refusal.heldBy!)
      assert.equal(taken.nextOffset, 40n, 'the new owner starts where the database is')
      await assert.rejects(store.commit(stored.claim, 50n, () => Promise.resolve()), StoreFencedError, 'the old claim is fenced')
      // A second take-over of the same (now replaced) claim is refused: a member that claimed since wins.
      await assert.rejects(store.takeOver(group, TP, 1, refusal.heldBy!), StoreFencedError)
      await store.commit(taken, 45n, () => Promise.resolve())
      assert.deepEqual(await store.offsets(group), new Map([['orders:3', 45n]]))
    })

    it('a handler that throws rolls its effects and the offset back; the claim stays usable', async () => {
      const group = `${GROUP}-throw`
      const [claim] = await store.claim(group, [TP], 1)
      await assert.rejects(store.commit(claim!, 2000n, async (tx) => {
        await applyRecords(2000n, 2003n)(tx)
        throw new Error('handler failed')
      }), /handler failed/)
      assert.deepEqual((await effectOffsets(db)).filter((x) => x >= 2000n && x < 3000n), [])
      assert.deepEqual(await store.offsets(group), new Map())
      await store.commit(claim!, 2003n, applyRecords(2000n, 2003n))
      assert.deepEqual((await effectOffsets(db)).filter((x) => x >= 2000n && x < 3000n), [2000n, 2001n, 2002n])
    })

    it('refuses a table name that is not a plain identifier', () => {
      assert.throws(() => new OffsetStore({ database: db.database, table: 'x; DROP TABLE y' }), { code: 'CONFIG_INVALID', option: 'store.table' })
    })
  })
}

describe('store mode offsets under real concurrency (PostgreSQL)', { skip: postgres.skip }, () => {
  let db: TestDatabase
  before(async () => {
    db = await postgres.open()
    await new OffsetStore({ database: db.database }).ensureSchema()
    await effectsTable(db)
  })
  after(async () => {
    await db.close()
  })

  it('a zombie in the middle of its transaction when the partition is claimed gets none of its effects in', async () => {
    const zombieStore = new OffsetStore({ database: db.database })
    const ownerStore = new OffsetStore({ database: db.second! })
    const [zombie] = await zombieStore.claim(GROUP, [TP], 1)
    let wrote!: () => void
    const written = new Promise<void>((resolve) => (wrote = resolve))
    let proceed!: () => void
    const claimed = new Promise<void>((resolve) => (proceed = resolve))
    const zombieCommit = zombieStore.commit(zombie!, 3n, async (tx) => {
      await applyRecords(0n, 3n)(tx)
      wrote()
      await claimed
    })
    await written
    // The new owner claims while the zombie's effects are written but not committed.
    const [owner] = await ownerStore.claim(GROUP, [TP], 2)
    assert.equal(owner!.nextOffset, null, 'the zombie committed nothing before the claim')
    proceed()
    await assert.rejects(zombieCommit, StoreFencedError)
    assert.deepEqual(await effectOffsets(db), [], 'the zombie\'s effects rolled back')
    await ownerStore.commit(owner!, 3n, applyRecords(0n, 3n))
    assert.deepEqual(await effectOffsets(db), [0n, 1n, 2n], 'each record\'s effect once, by the owner')
  })

  it('a zombie frozen inside its transaction is cut off by the idle timeout and releases its locks', async () => {
    const group = `${GROUP}-frozen`
    const zombieStore = new OffsetStore({ database: db.database, idleTimeoutMs: 300 })
    const ownerStore = new OffsetStore({ database: db.second! })
    const [zombie] = await zombieStore.claim(group, [{ topic: 'frozen', partition: 0 }], 1)
    let wrote!: () => void
    const written = new Promise<void>((resolve) => (wrote = resolve))
    let thaw!: () => void
    const thawed = new Promise<void>((resolve) => (thaw = resolve))
    const frozen = zombieStore.commit(zombie!, 1n, async (tx) => {
      await tx.query('INSERT INTO effects VALUES ($1, $2, $3)', ['frozen', 0, '0'])
      wrote()
      await thawed // frozen until the owner is done: only the server can end its transaction meanwhile
    })
    await written
    // The owner's effect conflicts with the zombie's uncommitted row: it waits until the server ends the zombie's session.
    const [owner] = await ownerStore.claim(group, [{ topic: 'frozen', partition: 0 }], 2)
    await ownerStore.commit(owner!, 1n, async (tx) => {
      await tx.query('INSERT INTO effects VALUES ($1, $2, $3)', ['frozen', 0, '0'])
    })
    const rows = await db.database.query("SELECT count(*)::int AS n FROM effects WHERE topic = 'frozen'")
    assert.equal(rows.rows[0]!.n, 1)
    // Thawed, the zombie finds its session ended: its commit fails and nothing of it is stored.
    thaw()
    await assert.rejects(frozen)
    assert.deepEqual(await ownerStore.offsets(group), new Map([['frozen:0', 1n]]))
  })
})

describe('store mode offsets: random claims and commits (property, PGlite)', () => {
  it('effects are applied once each, contiguously, and only by the partition\'s latest claimant', async () => {
    const db = await pglite.open()
    try {
      const store = new OffsetStore({ database: db.database })
      await store.ensureSchema()
      await effectsTable(db)
      let run = 0
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.oneof(
            fc.record({ op: fc.constant('claim' as const), member: fc.integer({ min: 0, max: 2 }), generationStep: fc.integer({ min: -1, max: 2 }) }),
            fc.record({ op: fc.constant('commit' as const), member: fc.integer({ min: 0, max: 2 }), records: fc.integer({ min: 1, max: 4 }) }),
          ), { maxLength: 25 }),
          async (ops) => {
            const group = `prop-${run++}`
            await db.database.query('DELETE FROM effects_log')
            const claims = new Map<number, Awaited<ReturnType<OffsetStore['claim']>>[number]>()
            let generation = 0
            let latest: number | undefined
            for (const step of ops) {
              if (step.op === 'claim') {
                const wanted = generation + step.generationStep
                try {
                  const [claim] = await store.claim(group, [TP], wanted)
                  claims.set(step.member, claim!)
                  generation = Math.max(generation, wanted)
                  latest = step.member
                } catch (error) {
                  assert.ok(error instanceof StoreFencedError)
                  assert.ok(wanted < generation, 'only an older generation is refused')
                }
              } else {
                const claim = claims.get(step.member)
                if (claim === undefined) continue
                const from = claim.nextOffset ?? 0n
                const to = from + BigInt(step.records)
                try {
                  const { claim: next } = await store.commit(claim, to, applyRecords(from, to, 'effects_log'))
                  claims.set(step.member, next)
                  assert.equal(step.member, latest, 'only the latest claimant commits')
                } catch (error) {
                  assert.ok(error instanceof StoreFencedError, String(error))
                  // A stale claim, or a claimant whose view of the offset is behind: refused either way.
                }
              }
            }
            const effects = await effectOffsets(db, 'effects_log')
            assert.deepEqual(effects, effects.map((_, i) => BigInt(i)), 'each offset once, from 0, no gap')
            const stored = (await store.offsets(group)).get('orders:3') ?? 0n
            assert.equal(stored, BigInt(effects.length), 'the stored offset is right after the last effect')
          },
        ),
        { numRuns: 40 },
      )
    } finally {
      await db.close()
    }
  })
})
