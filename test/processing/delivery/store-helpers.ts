/**
 * Store mode's test fixtures: an effects table written through `ctx.tx` (no unique key, so a
 * duplicate would show), a handler that writes one row per record, and a database a test can
 * "kill" in the middle of a transaction, the in-process stand-in for a crashed member.
 */
import type { ConsumedRecord, Context, RecordHandler } from '../../../src/processing/handler.js'
import type { SqlDatabase, SqlTransaction } from '../../../src/processing/store/sql.js'

export async function createEffects(database: SqlDatabase): Promise<void> {
  await database.query('CREATE TABLE IF NOT EXISTS effects (member text, topic text, partition int, record_offset bigint, txid bigint)')
}

/** Each record's row: one insert through `ctx.tx`, tagged with the writing transaction's id. */
export function insertEffect(member: string, ctx: Context, record: ConsumedRecord): Promise<unknown> {
  return ctx.tx.query('INSERT INTO effects VALUES ($1, $2, $3, $4, txid_current())', [member, record.topic, record.partition, record.offset.toString()])
}

export function effectHandler(member: string): RecordHandler {
  return async (record, ctx) => {
    await insertEffect(member, ctx, record)
  }
}

/** The effects of a partition as `offset -> times`, in offset order. */
export async function effectCounts(database: SqlDatabase, partition = 0, topic?: string): Promise<Map<bigint, number>> {
  const result = await database.query(
    'SELECT record_offset, count(*) AS n FROM effects WHERE partition = $1 AND ($2::text IS NULL OR topic = $2) GROUP BY record_offset ORDER BY record_offset',
    [partition, topic ?? null],
  )
  return new Map(result.rows.map((r) => [BigInt(String(r.record_offset)), Number(r.n)]))
}

/** Asserts-friendly summary: which offsets are missing or duplicated among [0, end). */
export async function exactlyOnce(database: SqlDatabase, end: bigint, partition = 0, topic?: string): Promise<{ missing: bigint[]; duplicated: bigint[]; extra: bigint[] }> {
  const counts = await effectCounts(database, partition, topic)
  const missing: bigint[] = []
  const duplicated: bigint[] = []
  for (let o = 0n; o < end; o++) {
    const n = counts.get(o) ?? 0
    if (n === 0) missing.push(o)
    if (n > 1) duplicated.push(o)
  }
  const extra = [...counts.keys()].filter((o) => o < 0n || o >= end)
  return { missing, duplicated, extra }
}

export async function storedOffset(database: SqlDatabase, group: string, partition = 0, table = 'baton_offsets'): Promise<bigint | undefined> {
  const result = await database.query(`SELECT next_offset FROM ${table} WHERE group_id = $1 AND partition = $2`, [group, partition])
  const row = result.rows[0]
  return row === undefined ? undefined : BigInt(String(row.next_offset))
}

/**
 * A database that dies on `kill()`: every statement from then on fails, as on a connection whose
 * process is gone, and the transaction under way rolls back instead of committing. With PGlite
 * (one process, one connection) this is how a test crashes a member in the middle of its
 * database transaction in process; store-kill.test.ts kills real member processes.
 */
export function killable(database: SqlDatabase): { readonly database: SqlDatabase; kill(): void } {
  let dead = false
  const refuse = (): Promise<never> => Promise.reject(new Error('simulated crash: the member is gone'))
  const guard = (tx: SqlTransaction): SqlTransaction => ({ query: (text, values) => (dead ? refuse() : tx.query(text, values)) })
  return {
    database: {
      transaction: (fn, idleTimeoutMs) =>
        dead
          ? refuse()
          : database.transaction(async (tx) => {
              const result = await fn(guard(tx))
              if (dead) throw new Error('simulated crash: the transaction never committed')
              return result
            }, idleTimeoutMs),
      query: (text, values) => (dead ? refuse() : database.query(text, values)),
      waiting: () => database.waiting?.() ?? 0,
    },
    kill() {
      dead = true
    },
  }
}

/** Polls `check` until it holds (bounded): the database is where store mode's progress shows. */
export async function until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
