/**
 * Invariant: store-mode members are separate processes on the embedded broker and a real
 * PostgreSQL server; one is killed with SIGKILL in the middle of a database transaction (right
 * after a handler wrote its row, before the transaction committed). The rows then hold each input
 * exactly once, and none is lost: the dead member's open transaction rolls back with its
 * connection, and the partition's next owner starts from the offset committed with the rows.
 * And a member process paused (SIGSTOP) in the middle of a transaction past its session timeout,
 * woken once the partitions moved (SIGCONT), cannot commit it: none of its rows become visible.
 *
 * PostgreSQL only (skipped without BATON_TEST_POSTGRES, see ../store/databases.ts): PGlite is one
 * process and cannot be shared by member processes; store.test.ts crashes a member in process on
 * PGlite instead.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { Producer } from '../../../src/client/index.js'
import { OffsetStore } from '../../../src/processing/store/offset-store.js'
import { postgresDatabase } from '../../../src/processing/store/postgres.js'
import type { SqlDatabase } from '../../../src/processing/store/sql.js'
import { postgres } from '../store/databases.js'
import { createEffects, exactlyOnce, storedOffset } from './store-helpers.js'

const MEMBER = fileURLToPath(new URL('./helpers/store-member.ts', import.meta.url))
const TOPIC = 'payments'
const RECORDS = 300

interface Child {
  readonly process: ChildProcessWithoutNullStreams
  readonly name: string
  stderr: string
  /** Resolves on the next `mid` line (a row written, its transaction open). */
  nextMid(): Promise<string>
}

function startMember(bootstrap: string, url: string, group: string, name: string): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', MEMBER, bootstrap, `${TOPIC}-${group}`, group, url, name], { stdio: ['pipe', 'pipe', 'pipe'] })
  const waiters: ((line: string) => void)[] = []
  const state: Child = {
    process: child,
    name,
    stderr: '',
    nextMid: () => new Promise((resolve) => waiters.push(resolve)),
  }
  child.stderr.on('data', (chunk: Buffer) => (state.stderr += chunk.toString()))
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) if (line.startsWith('mid ')) for (const resolve of waiters.splice(0)) resolve(line)
  })
  return state
}

async function until(check: () => Promise<boolean>, what: string, ms: number, children: readonly Child[]): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; members' stderr:\n${children.map((c) => `${c.name}: ${c.stderr}`).join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('store mode: member processes killed (SIGKILL) or frozen (SIGSTOP) mid database transaction', { skip: postgres.skip }, () => {
  let broker: EmbeddedBroker
  let admin: pg.Client
  let pool: pg.Pool
  const dbName = `baton_kill_${randomUUID().replaceAll('-', '')}`
  let url: string
  before(async () => {
    broker = await startBroker({ nodes: 1, memory: true })
    admin = new pg.Client({ connectionString: process.env.BATON_TEST_POSTGRES })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${dbName}`)
    const u = new URL(process.env.BATON_TEST_POSTGRES!)
    u.pathname = `/${dbName}`
    url = u.toString()
    pool = new pg.Pool({ connectionString: url, max: 2 })
    pool.on('error', () => undefined)
  })
  after(async () => {
    await pool?.end()
    await admin?.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
    await admin?.end()
    await broker?.stop()
  })

  /** A topic of RECORDS records over two partitions, and the tables; returns the records per partition. */
  async function prepare(group: string): Promise<bigint> {
    const database = postgresDatabase(pool)
    await createEffects(database)
    await new OffsetStore({ database }).ensureSchema()
    broker.createTopic(`${TOPIC}-${group}`, { partitions: 2 })
    const producer = new Producer({ bootstrapServers: broker.bootstrap })
    await producer.sendBatch(Array.from({ length: RECORDS }, (_, i) => ({ topic: `${TOPIC}-${group}`, partition: i % 2, value: `p${i}` })))
    await producer.close()
    return BigInt(RECORDS / 2)
  }

  /** Until the two partitions' stored offsets sum to 40: some transactions committed. */
  function firstTransactions(database: SqlDatabase, group: string, children: readonly Child[]): Promise<void> {
    return until(async () => ((await storedOffset(database, group, 0)) ?? 0n) + ((await storedOffset(database, group, 1)) ?? 0n) >= 40n, 'the first transactions', 60_000, children)
  }

  /** Until both partitions are stored to their end, then checks that each input has exactly one row. */
  async function everyInputOnce(database: SqlDatabase, group: string, perPartition: bigint, what: string, children: readonly Child[]): Promise<void> {
    await until(async () => (await storedOffset(database, group, 0)) === perPartition && (await storedOffset(database, group, 1)) === perPartition, what, 90_000, children)
    for (const p of [0, 1]) {
      const { missing, duplicated, extra } = await exactlyOnce(database, perPartition, p, `${TOPIC}-${group}`)
      assert.deepEqual({ missing, duplicated, extra }, { missing: [], duplicated: [], extra: [] }, `partition ${p}`)
    }
  }

  /** How many rows `member` left for one input. */
  async function rowsOf(database: SqlDatabase, member: string, topic: string, at: { partition: number; offset: bigint }): Promise<number> {
    const rows = await database.query('SELECT count(*) AS n FROM effects WHERE member = $1 AND topic = $2 AND partition = $3 AND record_offset = $4', [member, topic, at.partition, at.offset.toString()])
    return Number(rows.rows[0]?.n)
  }

  async function killAll(children: readonly Child[]): Promise<void> {
    for (const child of children) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGKILL')
        await once(child.process, 'exit')
      }
    }
  }

  it('leaves each input exactly once in the rows, nothing lost', async () => {
    const GROUP = 'store-kill'
    const database = postgresDatabase(pool)
    const perPartition = await prepare(GROUP)
    const bootstrap = broker.bootstrap.join(',')
    const children: Child[] = []
    try {
      const doomed = startMember(bootstrap, url, GROUP, 'doomed')
      children.push(doomed)
      // Some of its transactions committed, then kill it right after a row, inside an open transaction.
      await firstTransactions(database, GROUP, children)
      const mid = await doomed.nextMid()
      doomed.process.kill('SIGKILL')
      await once(doomed.process, 'exit')
      const [, partition, offset] = mid.split(' ')
      const killedAt = { partition: Number(partition), offset: BigInt(offset!) }
      assert.ok(((await storedOffset(database, GROUP, killedAt.partition)) ?? 0n) <= killedAt.offset, 'the row it had just written was not committed yet')

      const survivor = startMember(bootstrap, url, GROUP, 'survivor')
      children.push(survivor)
      await everyInputOnce(database, GROUP, perPartition, 'every record stored', children)
      assert.equal(await rowsOf(database, 'doomed', `${TOPIC}-${GROUP}`, killedAt), 0, "the killed member's row of its open transaction never became visible")
    } finally {
      await killAll(children)
    }
  })
  it('refuses a member process paused past its session (SIGSTOP) when it wakes and commits: none of its rows of that transaction are visible', async () => {
    const GROUP = 'store-zombie'
    const topic = `${TOPIC}-${GROUP}`
    const database = postgresDatabase(pool)
    const perPartition = await prepare(GROUP)
    const bootstrap = broker.bootstrap.join(',')
    const children: Child[] = []
    try {
      const zombie = startMember(bootstrap, url, GROUP, 'zombie')
      children.push(zombie)
      await firstTransactions(database, GROUP, children)
      const mid = await zombie.nextMid()
      zombie.process.kill('SIGSTOP')
      const [, partition, offset] = mid.split(' ')
      const frozenAt = { partition: Number(partition), offset: BigInt(offset!) }

      // Its session expires; the other member takes both partitions and stores everything.
      const owner = startMember(bootstrap, url, GROUP, 'owner')
      children.push(owner)
      await until(
        async () => (await storedOffset(database, GROUP, 0)) === perPartition && (await storedOffset(database, GROUP, 1)) === perPartition,
        'every record stored by the owner',
        90_000,
        children,
      )
      // The zombie wakes with its transaction open and tries to commit it (or learns it lost the partitions first).
      zombie.process.kill('SIGCONT')
      await until(() => Promise.resolve(/was refused and rolled back|partitions lost/.test(zombie.stderr)), 'the zombie refused or told of its loss', 30_000, children)
      await everyInputOnce(database, GROUP, perPartition, 'every record stored', children)
      assert.equal(await rowsOf(database, 'zombie', topic, frozenAt), 0, "the row of the zombie's open transaction never became visible")
    } finally {
      await killAll(children)
    }
  })
})
