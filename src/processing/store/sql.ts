/**
 * What store mode needs from a SQL database: one connection in a transaction, and a way to open one.
 * The PostgreSQL (`pg`) and PGlite adapters implement it over the user's own pool or database, so
 * baton depends on neither driver: the application brings the one it already uses.
 */

/** A row as drivers return it: column name to value. */
export type SqlRow = Record<string, unknown>

export interface SqlResult {
  readonly rows: readonly SqlRow[]
  /** Rows inserted, updated or deleted by the statement. */
  readonly affected: number
}

/** One connection inside an open transaction; what a handler receives as `ctx.tx`. */
export interface SqlTransaction {
  query(text: string, values?: readonly unknown[]): Promise<SqlResult>
}

export interface SqlDatabase {
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws (the
   * error is then rethrown). `idleTimeoutMs` bounds how long the transaction may stay open while
   * its client does nothing, so a member frozen in the middle (a zombie) cannot hold its locks
   * for ever: the server ends its session and rolls it back.
   */
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>, idleTimeoutMs: number): Promise<T>
  /** One statement outside any explicit transaction (schema set-up). */
  query(text: string, values?: readonly unknown[]): Promise<SqlResult>
  /**
   * How many transactions are waiting for a connection now (PGlite: for its one connection; a
   * pool: for a free client). Store mode commits a partition's transaction as soon as its records
   * pause while others wait, instead of keeping the connection until `maxMs`. Optional: without
   * it, transactions wait for their own bounds.
   */
  waiting?(): number
}

/** Reads an int8 column, which drivers return as a string (pg), a bigint or a number (PGlite). */
export function toBigInt(value: unknown): bigint {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' || typeof value === 'string') return BigInt(value)
  throw new TypeError(`expected an int8 column, got ${typeof value}`)
}

/** Creates `table` with these column definitions (and constraints) unless it exists: the schema set-up store mode and its users share. */
export function ensureTable(database: Pick<SqlDatabase, 'query'>, table: string, columns: readonly string[]): Promise<SqlResult> {
  return database.query(`CREATE TABLE IF NOT EXISTS ${table} (\n  ${columns.join(',\n  ')}\n)`)
}
