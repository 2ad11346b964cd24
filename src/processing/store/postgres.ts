/**
 * Store mode on PostgreSQL through the `pg` driver: pass the application's own `pg.Pool`. Each
 * transaction takes one client from the pool for its whole life and gives it back afterwards; a
 * client whose transaction failed at the connection level is destroyed rather than reused.
 */
import type { SqlDatabase, SqlResult, SqlTransaction } from './sql.js'

/** The part of `pg.Pool` that store mode uses. */
export interface PgPoolLike {
  connect(): Promise<PgClientLike>
  /** Callers waiting for a free client (pg.Pool has it). */
  readonly waitingCount?: number
}

export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>
  release(destroy?: boolean | Error): void
  on(event: 'error', listener: (error: Error) => void): unknown
  off(event: 'error', listener: (error: Error) => void): unknown
}

async function run(client: PgClientLike, text: string, values?: readonly unknown[]): Promise<SqlResult> {
  const result = await client.query(text, values === undefined ? undefined : [...values])
  return { rows: result.rows, affected: result.rowCount ?? 0 }
}

export function postgresDatabase(pool: PgPoolLike): SqlDatabase {
  return {
    async transaction<T>(fn: (tx: SqlTransaction) => Promise<T>, idleTimeoutMs: number): Promise<T> {
      const client = await pool.connect()
      let broken: Error | undefined
      // pg emits a connection-level failure (the server ended the session: idle timeout, restart)
      // as an 'error' event, which would crash the process without a listener; the failed query
      // rejects as well, and that rejection is what the caller sees.
      const onError = (error: Error): void => {
        broken = error
      }
      client.on('error', onError)
      // Once `fn` has settled the transaction object refuses statements: one issued later (a
      // handler still running) would otherwise run after COMMIT or ROLLBACK, outside any
      // transaction, on a connection back in the pool, and commit on its own.
      let ended = false
      const tx: SqlTransaction = {
        query: (text, values) =>
          ended ? Promise.reject(new Error('store mode: this database transaction has ended; the statement was not run')) : run(client, text, values),
      }
      try {
        await run(client, 'BEGIN')
        // SET LOCAL takes no bind parameters; the value is an integer we formatted ourselves.
        await run(client, `SET LOCAL idle_in_transaction_session_timeout = ${Math.max(1, Math.floor(idleTimeoutMs))}`)
        let result: T
        try {
          result = await fn(tx)
        } finally {
          ended = true
        }
        await run(client, 'COMMIT')
        return result
      } catch (error) {
        await run(client, 'ROLLBACK').catch((rollbackError: unknown) => {
          // The connection itself failed (or the server ended the session): do not pool it again.
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
        })
        throw error
      } finally {
        client.off('error', onError)
        client.release(broken ?? false)
      }
    },
    waiting: () => pool.waitingCount ?? 0,
    async query(text, values) {
      const client = await pool.connect()
      try {
        return await run(client, text, values)
      } finally {
        client.release()
      }
    },
  }
}
