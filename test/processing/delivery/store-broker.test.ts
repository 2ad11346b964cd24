/**
 * Store mode on baton's own client and the embedded broker, with PGlite (npm only): every record's
 * row is written once with its offset, and the group's committed offsets (what lag tools read)
 * follow the database's. A second app with the same database and group starts where the store is
 * and writes only the records produced since.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { PGlite } from '@electric-sql/pglite'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { Admin, Producer } from '../../../src/client/index.js'
import { baton } from '../../../src/processing/app.js'
import { silentLogger } from '../../../src/processing/logger.js'
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

  async function produce(from: number, count: number): Promise<void> {
    const producer = new Producer({ bootstrapServers: broker.bootstrap })
    await producer.sendBatch(Array.from({ length: count }, (_, i) => ({ topic: TOPIC, partition: (from + i) % 2, value: `r${from + i}` })))
    await producer.close()
  }

  async function runUntilStored(member: string, perPartition: bigint): Promise<void> {
    const database = pgliteDatabase(pglite)
    const app = baton({ brokers: broker.bootstrap, groupId: GROUP, logger: silentLogger, signals: false, store: { database, maxRecords: 50 } })
    app.consume(TOPIC, effectHandler(member), { delivery: 'store' })
    await app.start()
    try {
      await until(async () => (await storedOffset(database, GROUP, 0)) === perPartition && (await storedOffset(database, GROUP, 1)) === perPartition, `${member} storing both partitions`, 30_000)
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
    for (const p of [0, 1]) assert.deepEqual(await exactlyOnce(database, 120n, p), { missing: [], duplicated: [], extra: [] }, `partition ${p}`)
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
})
