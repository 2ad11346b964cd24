/**
 * A store-mode member process for the SIGKILL and SIGSTOP tests: `baton({ store })` on PostgreSQL
 * or on a file-backed PGlite, each record one row through `ctx.tx`. After writing a row it says so
 * on stdout (`mid <partition> <offset>`). A `hold` line on stdin makes the next handler, once its
 * row is written, say `held <partition> <offset>` and wait inside the open transaction until a
 * `release` line comes (or the process dies), so that a kill or a freeze sent after `held` surely
 * lands in the middle of a transaction, however loaded the machine. It also reports the store's offsets as they move
 * (`stored <partition> <offset>`), read through its own database: a PGlite data directory belongs
 * to one process at a time, so the test cannot watch it from outside while a member runs.
 * Arguments: bootstrap (comma-separated), topic, group id, database (a PostgreSQL URL, or
 * `pglite:<data directory>`), member name. SIGTERM stops it gracefully (last commit, database closed).
 */
import { createInterface } from 'node:readline'
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { baton, pgliteDatabase, postgresDatabase, type Logger, type SqlDatabase } from '../../../../src/index.js'
import { OffsetStore } from '../../../../src/processing/store/offset-store.js'

const [bootstrap, topic, groupId, where, member] = process.argv.slice(2)
if (bootstrap === undefined || topic === undefined || groupId === undefined || where === undefined || member === undefined) {
  process.stderr.write('usage: store-member.ts <bootstrap> <topic> <groupId> <postgres url | pglite:dir> <member>\n')
  process.exit(2)
}

async function openDatabase(spec: string): Promise<{ database: SqlDatabase; close: () => Promise<void> }> {
  if (spec.startsWith('pglite:')) {
    // Opening a data directory left by a killed process runs PostgreSQL's crash recovery first.
    const db = await PGlite.create(spec.slice('pglite:'.length))
    return { database: pgliteDatabase(db), close: () => db.close() }
  }
  const pool = new pg.Pool({ connectionString: spec, max: 4 })
  pool.on('error', () => undefined)
  return { database: postgresDatabase(pool), close: () => pool.end() }
}

const { database, close } = await openDatabase(where)
const toStderr = (level: string) => (fields: object, message?: string) => void process.stderr.write(`${member} ${level}: ${message ?? ''} ${JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v instanceof Error ? v.message : v))}\n`)
const logger: Logger = { debug: () => undefined, info: () => undefined, warn: toStderr('warn'), error: toStderr('error'), child: () => logger }
const app = baton({
  brokers: bootstrap,
  groupId,
  logger,
  signals: ['SIGTERM'],
  rebalanceTimeoutMs: 20_000,
  kafka: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, clientId: member },
  store: { database, maxRecords: 20, maxMs: 200 },
})
let holdNext = false
let release: () => void = () => undefined
const released = new Promise<void>((resolve) => (release = resolve))
const commands = createInterface({ input: process.stdin })
commands.on('line', (line) => {
  if (line === 'hold') holdNext = true
  if (line === 'release') release()
})
app.consume(
  topic,
  async (record, ctx) => {
    await ctx.tx.query('INSERT INTO effects VALUES ($1, $2, $3, $4, txid_current())', [member, record.topic, record.partition, record.offset.toString()])
    if (holdNext) {
      holdNext = false
      process.stdout.write(`held ${record.partition} ${record.offset}\n`)
      await released
      return
    }
    process.stdout.write(`mid ${record.partition} ${record.offset}\n`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  },
  { delivery: 'store' },
)

// The store's offsets as this member sees them, read one at a time until the app stops; each change is one line.
const offsets = new OffsetStore({ database })
let running = true
const report = async (): Promise<void> => {
  const reported = new Map<string, bigint>()
  while (running) {
    const stored = await offsets.offsets(groupId).catch(() => new Map<string, bigint>())
    for (const [key, offset] of stored) {
      if (!key.startsWith(`${topic}:`) || reported.get(key) === offset) continue
      reported.set(key, offset)
      process.stdout.write(`stored ${key.slice(topic.length + 1)} ${offset}\n`)
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
const reporting = report()

await app.run()
running = false
await reporting
await close()
// stdin stays open (the test holds its end): let go of it so the process can end.
commands.close()
process.stdin.destroy()
