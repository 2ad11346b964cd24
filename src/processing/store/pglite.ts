/**
 * Store mode on PGlite (PostgreSQL compiled to WebAssembly, in process): the embedded default, so
 * that the lab and tests need nothing but npm. Pass the application's own `PGlite` instance.
 *
 * PGlite is one connection: its transactions run one at a time, which is also why the idle
 * timeout does not apply (no other session can be blocked by this one's locks).
 */
import type { SqlDatabase, SqlResult, SqlTransaction } from './sql.js'

interface PGliteResultLike {
  rows: Record<string, unknown>[]
  affectedRows?: number
}

/** The part of `PGlite` (and of its transaction object) that store mode uses. */
export interface PGliteQueryable {
  query(text: string, values?: unknown[]): Promise<PGliteResultLike>
}

export interface PGliteLike extends PGliteQueryable {
  transaction<T>(fn: (tx: PGliteQueryable) => Promise<T>): Promise<T>
}

async function run(db: PGliteQueryable, text: string, values?: readonly unknown[]): Promise<SqlResult> {
  const result = await db.query(text, values === undefined ? undefined : [...values])
  return { rows: result.rows, affected: result.affectedRows ?? 0 }
}

export function pgliteDatabase(db: PGliteLike): SqlDatabase {
  // Transactions asked for and not yet begun, and statements under way: while a transaction is
  // open, they wait for the one connection.
  let waiting = 0
  return {
    transaction<T>(fn: (tx: SqlTransaction) => Promise<T>): Promise<T> {
      waiting++
      let begun = false
      const begin = (): void => {
        if (begun) return
        begun = true
        waiting--
      }
      return db
        .transaction((inner) => {
          begin()
          return fn({ query: (text, values) => run(inner, text, values) })
        })
        .finally(begin)
    },
    query(text, values) {
      waiting++
      return run(db, text, values).finally(() => waiting--)
    },
    waiting: () => waiting,
  }
}
