/**
 * The `store` strategy's database: PGlite in this process by default (nothing but npm), or the
 * PostgreSQL server `--store postgres://...` names. The drivers are optional peer dependencies of
 * baton, so they are loaded only when the strategy runs, and a missing one says what to install.
 *
 * `EffectRows` is where the strategy's effects become visible: the handlers insert one row per
 * record in the record's database transaction, and the lab counts a row once its transaction has
 * committed, as anyone querying the table would.
 */
import { LabError } from '../errors.js'
import { ensureTable, pgliteDatabase, postgresDatabase, type SqlDatabase, type SqlTransaction } from '../../processing/index.js'
import type { EffectSink } from '../effects.js'

export interface LabDatabase {
  readonly database: SqlDatabase
  /** Where it is, for the progress line. */
  readonly description: string
  close(): Promise<void>
}

/**
 * One PGlite for the process, made on first use and kept: starting one (compiling PostgreSQL's
 * WebAssembly, creating its cluster in memory) takes seconds, and runs name their tables after
 * themselves and drop them, so lab runs in one process (tests) share it. It holds nothing that
 * keeps the process alive.
 */
let sharedPGlite: Promise<SqlDatabase> | undefined

async function startPGlite(): Promise<SqlDatabase> {
  const { PGlite } = await load(() => import('@electric-sql/pglite'), '@electric-sql/pglite')
  const db = new PGlite()
  await db.waitReady
  return pgliteDatabase(db)
}

/** Opens PGlite (no url) or a pool on the PostgreSQL server at `url`, with a connection per partition a member may hold. */
export async function openLabDatabase(url: string | undefined, connections: number): Promise<LabDatabase> {
  if (url === undefined) {
    if (sharedPGlite === undefined) {
      sharedPGlite = startPGlite()
      // A failed start (the package missing) is not kept: the next run tries again.
      sharedPGlite.catch(() => (sharedPGlite = undefined))
    }
    return { database: await sharedPGlite, description: 'PGlite in this process', close: () => Promise.resolve() }
  }
  // A Unix socket's folder is percent-encoded in the host (postgresql://user@%2Fvar%2Frun%2Fpostgresql/db).
  const where = decodeURIComponent(new URL(url).host)
  const pg = (await load(() => import('pg'), 'pg')).default
  const pool = new pg.Pool({ connectionString: url, max: connections })
  // An idle client whose session the server ends emits 'error' on the pool; the next query reconnects.
  pool.on('error', () => undefined)
  try {
    await pool.query('SELECT 1')
  } catch (error) {
    await pool.end()
    throw new LabError(`--store: cannot reach PostgreSQL at ${where}: ${error instanceof Error ? error.message : String(error)}; check the connection string, or leave --store out to use PGlite`, { cause: error })
  }
  return { database: postgresDatabase(pool), description: `PostgreSQL at ${where}`, close: () => pool.end() }
}

async function load<T>(importer: () => Promise<T>, name: string): Promise<T> {
  try {
    return await importer()
  } catch (error) {
    throw new LabError(`the store strategy needs the ${name} package: npm install ${name} (or leave store out of --strategies)`, { cause: error })
  }
}

/**
 * One member's view of the shared database, which dies with the member: after `crash()` every
 * statement is refused, so the transaction it had open rolls back and it commits nothing more,
 * as when its process is killed and the server ends its session.
 */
export class CrashableDatabase implements SqlDatabase {
  private crashed = false

  constructor(private readonly inner: SqlDatabase) {}

  crash(): void {
    this.crashed = true
  }

  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>, idleTimeoutMs: number): Promise<T> {
    if (this.crashed) return Promise.reject(new MemberCrashedError())
    return this.inner.transaction((tx) => fn({ query: (text, values) => (this.crashed ? Promise.reject(new MemberCrashedError()) : tx.query(text, values)) }), idleTimeoutMs)
  }

  query(text: string, values?: readonly unknown[]): ReturnType<SqlDatabase['query']> {
    return this.crashed ? Promise.reject(new MemberCrashedError()) : this.inner.query(text, values)
  }

  /** The shared database's waiters: other members' transactions included. */
  waiting(): number {
    return this.inner.waiting?.() ?? 0
  }
}

/** A statement from a member the lab crashed: its process is gone, so nothing it sends arrives. */
export class MemberCrashedError extends LabError {
  constructor() {
    super('this member was crashed by the lab; its database session is gone')
  }
}

/**
 * The effects table and its reader. Each poll marks the committed rows it has not returned yet and
 * returns them in the same statement, so every committed row is counted exactly once, whatever
 * order concurrent transactions commit in.
 */
export class EffectRows {
  private timer: NodeJS.Timeout | undefined
  private polling: Promise<void> | undefined
  private closed = false

  constructor(
    private readonly database: SqlDatabase,
    readonly table: string,
    private readonly sink: EffectSink,
    private readonly onError: (error: unknown) => void,
  ) {}

  async create(): Promise<void> {
    await ensureTable(this.database, this.table, [
      'seq bigserial PRIMARY KEY',
      'record_id integer NOT NULL',
      'input_partition integer NOT NULL',
      'input_offset bigint NOT NULL',
      'consumer_id text NOT NULL',
      'counted boolean NOT NULL DEFAULT false',
    ])
    this.schedule()
  }

  /** The statement a handler runs in its record's transaction: its effect. */
  insert(tx: SqlTransaction, recordId: number, partition: number, offset: bigint, consumerId: string): Promise<unknown> {
    return tx.query(`INSERT INTO ${this.table} (record_id, input_partition, input_offset, consumer_id) VALUES ($1, $2, $3, $4)`, [recordId, partition, String(offset), consumerId])
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    await this.polling
    // A last look, for rows committed since the last poll.
    await this.poll()
  }

  private schedule(): void {
    if (this.closed) return
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => this.schedule())
    }, 50)
  }

  private async poll(): Promise<void> {
    try {
      const result = await this.database.query(
        `UPDATE ${this.table} SET counted = true WHERE NOT counted RETURNING seq, record_id, input_partition, input_offset, consumer_id`,
      )
      const rows = [...result.rows].sort((a, b) => Number(a.seq) - Number(b.seq))
      for (const row of rows) this.sink.observe(Number(row.record_id), Number(row.input_partition), BigInt(String(row.input_offset)), String(row.consumer_id))
    } catch (error) {
      this.onError(error)
    }
  }
}
