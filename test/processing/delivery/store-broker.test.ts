/**
 * Store mode on baton's own client and the embedded broker, with PGlite (npm only): every record's
 * row is written once with its offset, and the group's committed offsets (what lag tools read)
 * follow the database's. A second app with the same database and group starts where the store is
 * and writes only the records produced since.
 *
 * A group deleted (`DeleteGroups`, or expired on a real cluster after standing empty) starts again
 * at generation 1, while the offsets table still holds the claims of the generations before. A
 * member of the new group still works the partitions from the database's offsets, each record
 * exactly once: the coordinator accepting a commit under the member's generation shows the row's
 * later generation is gone, and the member takes that claim over.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { PGlite } from '@electric-sql/pglite'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { Admin, Producer } from '../../../src/client/index.js'
import { baton } from '../../../src/processing/app.js'
import { silentLogger, type Logger } from '../../../src/processing/logger.js'
import { pgliteDatabase } from '../../../src/processing/store/pglite.js'
import { createEffects, effectHandler, exactlyOnce, storedOffset, until } from './store-helpers.js'

const TOPIC = 'ledger'
const GROUP = 'ledger-writers'

describe('store mode on the embedded broker, with PGlite', () => {
  let broker: EmbeddedBroker
  let pglite: PGlite
  before(async () => {
    broker = await startBroker({ nodes: 1, memory: true })
    pglite = new PGlite()
  })
  after(async () => {
    await pglite.close()
    await broker.stop()
  })

  async function produce(from: number, count: number, topic = TOPIC): Promise<void> {
    const producer = new Producer({ bootstrapServers: broker.bootstrap })
    await producer.sendBatch(Array.from({ length: count }, (_, i) => ({ topic, partition: (from + i) % 2, value: `r${from + i}` })))
    await producer.close()
  }

  /** Runs an app until the store holds `perPartition` for both partitions; the member's warnings go into the failure. */
  async function runUntilStored(member: string, perPartition: bigint, where = { topic: TOPIC, group: GROUP }, timeoutMs = 30_000): Promise<void> {
    const database = pgliteDatabase(pglite)
    const warnings: string[] = []
    const logger: Logger = { ...silentLogger, warn: (_fields: object, message?: string) => void warnings.push(message ?? ''), child: () => logger }
    const app = baton({ brokers: broker.bootstrap, groupId: where.group, logger, signals: false, store: { database, maxRecords: 50 } })
    app.consume(where.topic, effectHandler(member), { delivery: 'store' })
    await app.start()
    try {
      const stored = async (): Promise<boolean> => (await storedOffset(database, where.group, 0)) === perPartition && (await storedOffset(database, where.group, 1)) === perPartition
      await until(stored, `${member} storing both partitions`, timeoutMs).catch((error: unknown) => {
        throw new Error(`${String(error)}; the member warned: ${warnings.join(' | ')}`)
      })
    } finally {
      const result = await app.stop()
      assert.equal(result.exitCode, 0)
    }
  }

  it('writes each record once with its offset; the group follows; a restart goes on from the store', async () => {
    broker.createTopic(TOPIC, { partitions: 2 })
    const database = pgliteDatabase(pglite)
    await createEffects(database)
    await produce(0, 200)
    await runUntilStored('first', 100n)
    await produce(200, 40)
    await runUntilStored('second', 120n)
    for (const p of [0, 1]) assert.deepEqual(await exactlyOnce(database, 120n, p, TOPIC), { missing: [], duplicated: [], extra: [] }, `partition ${p}`)
    const second = await database.query("SELECT count(*) AS n FROM effects WHERE member = 'second'")
    assert.equal(Number(second.rows[0]?.n), 40, 'the restarted app wrote only the new records')
    const admin = new Admin({ bootstrapServers: broker.bootstrap })
    try {
      const committed = await admin.fetchOffsets(GROUP, [{ topic: TOPIC, partitions: [0, 1] }])
      assert.deepEqual(
        committed.map((o) => [o.partition, o.offset]).sort(),
        [
          [0, 120n],
          [1, 120n],
        ],
        "the group's offsets follow the database's",
      )
    } finally {
      await admin.close()
    }
  })

  it('works the partitions from the stored offsets after the group was deleted', async () => {
    const where = { topic: 'ledger-reset', group: 'ledger-reset-writers' }
    broker.createTopic(where.topic, { partitions: 2 })
    const database = pgliteDatabase(pglite)
    await createEffects(database)
    await produce(0, 40, where.topic)
    await runUntilStored('first', 20n, where) // generation 1
    await produce(40, 40, where.topic)
    await runUntilStored('second', 40n, where) // generation 2
    const admin = new Admin({ bootstrapServers: broker.bootstrap })
    try {
      await admin.deleteGroups([where.group])
    } finally {
      await admin.close()
    }
    await produce(80, 40, where.topic)
    // Generation 1 again. 40 records take well under a second when the partitions are worked.
    await runUntilStored('third', 60n, where, 8_000)
    for (const p of [0, 1]) assert.deepEqual(await exactlyOnce(database, 60n, p, where.topic), { missing: [], duplicated: [], extra: [] }, `partition ${p}`)
  })
})
