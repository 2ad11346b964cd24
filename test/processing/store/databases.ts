/**
 * The databases store mode is tested on: PGlite always (npm only), and a real PostgreSQL server
 * when BATON_TEST_POSTGRES names one (a connection string; `.ci/run` starts a server and sets it).
 * Each PostgreSQL test gets a database of its own, created here and dropped afterwards. With
 * BATON_REQUIRE_POSTGRES=1 (set by `.ci/run`) a missing server fails instead of skipping.
 */
import { randomUUID } from 'node:crypto'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { pgliteDatabase } from '../../../src/processing/store/pglite.js'
import { postgresDatabase } from '../../../src/processing/store/postgres.js'
import type { SqlDatabase } from '../../../src/processing/store/sql.js'

export interface TestDatabase {
  readonly database: SqlDatabase
  /** Another connection to the same database (PostgreSQL only: PGlite has one connection). */
  readonly second?: SqlDatabase
  close(): Promise<void>
}

export interface DatabaseKind {
  readonly name: 'pglite' | 'postgres'
  /** Why it cannot run here, or undefined when it can. */
  readonly skip: string | undefined
  open(): Promise<TestDatabase>
}

const postgresUrl = process.env.BATON_TEST_POSTGRES
const requirePostgres = process.env.BATON_REQUIRE_POSTGRES === '1'
if (requirePostgres && postgresUrl === undefined) {
  throw new Error('BATON_REQUIRE_POSTGRES=1 but BATON_TEST_POSTGRES is not set: give a PostgreSQL connection string')
}

export const pglite: DatabaseKind = {
  name: 'pglite',
  skip: undefined,
  open() {
    const db = new PGlite()
    return Promise.resolve({ database: pgliteDatabase(db), close: () => db.close() })
  },
}

export const postgres: DatabaseKind = {
  name: 'postgres',
  skip: postgresUrl === undefined ? 'set BATON_TEST_POSTGRES to a PostgreSQL connection string to run these' : undefined,
  async open() {
    const name = `baton_test_${randomUUID().replaceAll('-', '')}`
    const admin = new pg.Client({ connectionString: postgresUrl })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name}`)
    const url = new URL(postgresUrl!)
    url.pathname = `/${name}`
    const pool = new pg.Pool({ connectionString: url.toString(), max: 4 })
    const secondPool = new pg.Pool({ connectionString: url.toString(), max: 4 })
    // As pg asks of every application: an idle client whose session the server ends emits 'error' on its pool.
    pool.on('error', () => undefined)
    secondPool.on('error', () => undefined)
    return {
      database: postgresDatabase(pool),
      second: postgresDatabase(secondPool),
      async close() {
        await pool.end()
        await secondPool.end()
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        await admin.end()
      },
    }
  },
}

export const kinds: readonly DatabaseKind[] = [pglite, postgres]
