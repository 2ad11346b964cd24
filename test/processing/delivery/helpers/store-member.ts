/**
 * A store-mode member process for the SIGKILL test: `baton({ store })` on PostgreSQL, each record
 * one row through `ctx.tx`. After writing a row it says so on stdout (`mid <partition> <offset>`)
 * and lingers a little inside the transaction, so that a kill lands in the middle of one.
 * Arguments: bootstrap (comma-separated), topic, group id, PostgreSQL URL, member name.
 */
import pg from 'pg'
import { baton, postgresDatabase, type Logger } from '../../../../src/index.js'

const [bootstrap, topic, groupId, url, member] = process.argv.slice(2)
if (bootstrap === undefined || topic === undefined || groupId === undefined || url === undefined || member === undefined) {
  process.stderr.write('usage: store-member.ts <bootstrap> <topic> <groupId> <postgres url> <member>\n')
  process.exit(2)
}
const pool = new pg.Pool({ connectionString: url, max: 4 })
pool.on('error', () => undefined)
const toStderr = (level: string) => (fields: object, message?: string) => void process.stderr.write(`${member} ${level}: ${message ?? ''} ${JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v instanceof Error ? v.message : v))}\n`)
const logger: Logger = { debug: () => undefined, info: () => undefined, warn: toStderr('warn'), error: toStderr('error'), child: () => logger }
const app = baton({
  brokers: bootstrap,
  groupId,
  logger,
  signals: ['SIGTERM'],
  rebalanceTimeoutMs: 20_000,
  kafka: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, clientId: member },
  store: { database: postgresDatabase(pool), maxRecords: 20, maxMs: 200 },
})
app.consume(
  topic,
  async (record, ctx) => {
    await ctx.tx.query('INSERT INTO effects VALUES ($1, $2, $3, $4, txid_current())', [member, record.topic, record.partition, record.offset.toString()])
    process.stdout.write(`mid ${record.partition} ${record.offset}\n`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  },
  { delivery: 'store' },
)
await app.run()
await pool.end()
