/**
 * Invariant: store-mode members are separate processes on the embedded broker; one is killed with
 * SIGKILL in the middle of a database transaction (right after a handler wrote its row, before the
 * transaction committed). The rows then hold each input exactly once, none is lost, and the
 * store's offset is the partition's end: the dead member's open transaction rolls back, and the
 * partition's next owner starts from the offset committed with the rows.
 *
 * On both stores: a real PostgreSQL server (skipped without BATON_TEST_POSTGRES, see
 * ../store/databases.ts), where the transaction dies with the member's connection, and a
 * file-backed PGlite, where the next member process opens the data directory the killed one left
 * and PostgreSQL's crash recovery drops the open transaction. A PGlite data directory belongs to
 * one process at a time, so the test reads it only while no member runs, and follows progress
 * through the members' own reports (./helpers/store-member.ts).
 *
 * PostgreSQL also: a member process paused (SIGSTOP) in the middle of a transaction past its
 * session timeout, woken once the partitions moved (SIGCONT), cannot commit it: none of its rows
 * become visible. (Two PGlite processes cannot share a database, so there is no zombie to fence.)
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { Producer } from '../../../src/client/index.js'
import { OffsetStore } from '../../../src/processing/store/offset-store.js'
import { pgliteDatabase } from '../../../src/processing/store/pglite.js'
import { postgresDatabase } from '../../../src/processing/store/postgres.js'
import type { SqlDatabase } from '../../../src/processing/store/sql.js'
import { postgres } from '../store/databases.js'
import { createEffects, exactlyOnce, storedOffset } from './store-helpers.js'

const MEMBER = fileURLToPath(new URL('./helpers/store-member.ts', import.meta.url))
const TOPIC = 'payments'
const RECORDS = 300
const PER_PARTITION = BigInt(RECORDS / 2)

/** Where the members' database is, and how the test reaches it between (PGlite) or beside (PostgreSQL) them. */
interface Store {
  /** The member's database argument: a PostgreSQL URL or `pglite:<dir>`. */
  readonly spec: string
  /** Opens the database in the test process; on PGlite only while no member process has it open. */
  open(): Promise<{ readonly database: SqlDatabase; readonly close: () => Promise<void> }>
}

interface Child {
  readonly process: ChildProcessWithoutNullStreams
  readonly name: string
  stderr: string
  /** The store's offsets per partition, as the member last reported them. */
  readonly stored: Map<number, bigint>
  /**
   * Asks the member to hold its next handler inside the open transaction, right after the row
   * (`hold`), and resolves with the `held <partition> <offset>` line once it does.
   */
  hold(): Promise<string>
  /** Lets the held handler finish (`release`). */
  release(): void
  /** Resolves once `check` holds, re-checked whenever the member writes; fails after `ms`. */
  until(check: () => boolean, what: string, ms: number): Promise<void>
}

function startMember(bootstrap: string, store: Store, group: string, name: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', MEMBER, bootstrap, `${TOPIC}-${group}`, group, store.spec, name], { stdio: ['pipe', 'pipe', 'pipe'] })
  const heldWaiters: ((line: string) => void)[] = []
  // A command written as the member dies finds the pipe closed; the test learns of the death by its exit.
  child.stdin.on('error', () => undefined)
  const checks = new Set<() => void>()
  const state: Child = {
    process: child,
    name,
    stderr: '',
    stored: new Map(),
    hold() {
      const held = new Promise<string>((resolve) => heldWaiters.push(resolve))
      child.stdin.write('hold\n')
      return held
    },
    release: () => void child.stdin.write('release\n'),
    until(check, what, ms) {
      return new Promise((resolve, reject) => {
        const settle = (): void => {
          if (!check()) return
          checks.delete(settle)
          clearTimeout(timer)
          resolve()
        }
        const timer = setTimeout(() => {
          checks.delete(settle)
          reject(new Error(`timed out after ${ms} ms waiting for ${what}; ${name}'s stderr:\n${state.stderr}`))
        }, ms)
        checks.add(settle)
        settle()
      })
    },
  }
  child.stderr.on('data', (chunk: Buffer) => {
    state.stderr += chunk.toString()
    for (const check of [...checks]) check()
  })
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) {
      const [kind, partition, offset] = line.split(' ')
      if (kind === 'held') for (const resolve of heldWaiters.splice(0)) resolve(line)
      if (kind === 'stored') state.stored.set(Number(partition), BigInt(offset!))
    }
    for (const check of [...checks]) check()
  })
  return state
}

const storedTotal = (child: Child): bigint => [...child.stored.values()].reduce((a, b) => a + b, 0n)
const storedAll = (child: Child): boolean => child.stored.get(0) === PER_PARTITION && child.stored.get(1) === PER_PARTITION

async function stop(child: Child, signal: NodeJS.Signals): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return
  const exited = once(child.process, 'exit')
  child.process.kill(signal)
  await exited
}

/** The records, over two partitions, and the tables. */
async function prepare(broker: EmbeddedBroker, store: Store, group: string): Promise<void> {
  const { database, close } = await store.open()
  try {
    await createEffects(database)
    await new OffsetStore({ database }).ensureSchema()
  } finally {
    await close()
  }
  broker.createTopic(`${TOPIC}-${group}`, { partitions: 2 })
  const producer = new Producer({ bootstrapServers: broker.bootstrap })
  await producer.sendBatch(Array.from({ length: RECORDS }, (_, i) => ({ topic: `${TOPIC}-${group}`, partition: i % 2, value: `p${i}` })))
  await producer.close()
}

/** Each input's row exactly once and the store's offsets at the end, read once no member runs any more. */
async function assertExactlyOnce(store: Store, group: string, absent: { member: string; partition: number; offset: bigint }): Promise<void> {
  const { database, close } = await store.open()
  try {
    for (const p of [0, 1]) {
      const { missing, duplicated, extra } = await exactlyOnce(database, PER_PARTITION, p, `${TOPIC}-${group}`)
      assert.deepEqual({ missing, duplicated, extra }, { missing: [], duplicated: [], extra: [] }, `partition ${p}`)
      assert.equal(await storedOffset(database, group, p), PER_PARTITION, `the store's offset of partition ${p}`)
    }
    const row = await database.query('SELECT count(*) AS n FROM effects WHERE member = $1 AND topic = $2 AND partition = $3 AND record_offset = $4', [
      absent.member,
      `${TOPIC}-${group}`,
      absent.partition,
      absent.offset.toString(),
    ])
    assert.equal(Number(row.rows[0]?.n), 0, `the row ${absent.member} wrote in its open transaction never became visible`)
  } finally {
    await close()
  }
}

/**
 * One member commits a few transactions, is killed right after a row inside an open one, and a
 * second member process, on the same store, finishes the partitions and stops gracefully.
 */
async function killMidTransaction(broker: EmbeddedBroker, store: Store, group: string): Promise<void> {
  await prepare(broker, store, group)
  const bootstrap = broker.bootstrap.join(',')
  const children: Child[] = []
  try {
    const doomed = startMember(bootstrap, store, group, 'doomed')
    children.push(doomed)
    await doomed.until(() => storedTotal(doomed) >= 40n, 'the first transactions', 60_000)
    const mid = await doomed.hold()
    await stop(doomed, 'SIGKILL')
    const [, partition, offset] = mid.split(' ')
    const killedAt = { member: 'doomed', partition: Number(partition), offset: BigInt(offset!) }

    const survivor = startMember(bootstrap, store, group, 'survivor')
    children.push(survivor)
    await survivor.until(() => storedAll(survivor), 'every record stored', 90_000)
    await stop(survivor, 'SIGTERM')
    assert.equal(survivor.process.exitCode, 0, `the survivor stopped cleanly; its stderr:\n${survivor.stderr}`)
    await assertExactlyOnce(store, group, killedAt)
  } finally {
    for (const child of children) await stop(child, 'SIGKILL')
  }
}

describe('store mode on a file-backed PGlite: a member process killed (SIGKILL) mid database transaction', () => {
  let broker: EmbeddedBroker
  let dir: string
  before(async () => {
    broker = await startBroker({ nodes: 1, memory: true })
    dir = await mkdtemp(join(tmpdir(), 'baton-pglite-kill-'))
  })
  after(async () => {
    await broker?.stop()
    if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  })

  it('the next member process recovers the data directory; each input exactly once in the rows, nothing lost', { timeout: 180_000 }, async () => {
    const dataDir = join(dir, 'data')
    const store: Store = {
      spec: `pglite:${dataDir}`,
      async open() {
        const db = await PGlite.create(dataDir)
        return { database: pgliteDatabase(db), close: () => db.close() }
      },
    }
    await killMidTransaction(broker, store, 'pglite-kill')
  })
})

describe('store mode on PostgreSQL: member processes killed (SIGKILL) or frozen (SIGSTOP) mid database transaction', { skip: postgres.skip }, () => {
  let broker: EmbeddedBroker
  let admin: pg.Client
  let pool: pg.Pool
  const dbName = `baton_kill_${randomUUID().replaceAll('-', '')}`
  let store: Store
  before(async () => {
    broker = await startBroker({ nodes: 1, memory: true })
    admin = new pg.Client({ connectionString: process.env.BATON_TEST_POSTGRES })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${dbName}`)
    const u = new URL(process.env.BATON_TEST_POSTGRES!)
    u.pathname = `/${dbName}`
    pool = new pg.Pool({ connectionString: u.toString(), max: 2 })
    pool.on('error', () => undefined)
    // The pool is shared with the test's members and outlives each use.
    store = { spec: u.toString(), open: () => Promise.resolve({ database: postgresDatabase(pool), close: () => Promise.resolve() }) }
  })
  after(async () => {
    await pool?.end()
    await admin?.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
    await admin?.end()
    await broker?.stop()
  })

  it('leaves each input exactly once in the rows, nothing lost', { timeout: 180_000 }, async () => {
    await killMidTransaction(broker, store, 'store-kill')
  })

  it('refuses a member process paused past its session (SIGSTOP) when it wakes and commits: none of its rows of that transaction are visible', { timeout: 180_000 }, async () => {
    const group = 'store-zombie'
    await prepare(broker, store, group)
    const bootstrap = broker.bootstrap.join(',')
    const children: Child[] = []
    try {
      const zombie = startMember(bootstrap, store, group, 'zombie')
      children.push(zombie)
      await zombie.until(() => storedTotal(zombie) >= 40n, 'the first transactions', 60_000)
      const mid = await zombie.hold()
      zombie.process.kill('SIGSTOP')
      const [, partition, offset] = mid.split(' ')
      const frozenAt = { member: 'zombie', partition: Number(partition), offset: BigInt(offset!) }

      // Its session expires; the other member takes both partitions and stores everything.
      const owner = startMember(bootstrap, store, group, 'owner')
      children.push(owner)
      await owner.until(() => storedAll(owner), 'every record stored by the owner', 90_000)
      // The zombie wakes with its transaction open and tries to commit it (or learns it lost the partitions first).
      zombie.process.kill('SIGCONT')
      zombie.release()
      await zombie.until(() => /was refused and rolled back|partitions lost/.test(zombie.stderr), 'the zombie refused or told of its loss', 30_000)
      await assertExactlyOnce(store, group, frozenAt)
    } finally {
      for (const child of children) await stop(child, 'SIGKILL')
    }
  })
})
