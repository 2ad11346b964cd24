/**
 * Store mode after the group's generation went back: a group deleted (`DeleteGroups`, or expired on
 * a real cluster after standing empty) starts again at generation 1, while the offsets table still
 * holds the claims of the generations before. A member of the new group still works the
 * partitions, from the offsets the database holds, each record exactly once: the coordinator
 * accepting a commit under the member's generation shows the row's later generation is gone, and
 * the member takes that claim over. A member whose own generation is the stale one is refused by
 * the coordinator, and leaves the partition to its owner.
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

describe('store mode when the group starts over at a lower generation', () => {
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

  async function runUntilStored(member: string, perPartition: bigint, timeoutMs = 20_000): Promise<void> {
    const database = pgliteDatabase(pglite)
    const warnings: string[] = []
    const logger: Logger = { ...silentLogger, warn: (_fields: object, message?: string) => void warnings.push(message ?? ''), child: () => logger }
    const app = baton({ brokers: broker.bootstrap, groupId: GROUP, logger, signals: false, store: { database, maxRecords: 50 } })
    app.consume(TOPIC, effectHandler(member), { delivery: 'store' })
    await app.start()
    try {
      await until(async () => (await storedOffset(database, GROUP, 0)) === perPartition && (await storedOffset(database, GROUP, 1)) === perPartition, `${member} storing both partitions`, timeoutMs).catch(
        (error: unknown) => {
          throw new Error(`${String(error)}; the member warned: ${warnings.join(' | ')}`)
        },
      )
    } finally {
      await app.stop()
    }
  }

  it('works the partitions from the stored offsets after the group was deleted', async () => {
    broker.createTopic(TOPIC, { partitions: 2 })
    const database = pgliteDatabase(pglite)
    await createEffects(database)
    await produce(0, 40)
    await runUntilStored('first', 20n) // generation 1
    await produce(40, 40)
    await runUntilStored('second', 40n) // generation 2
    const admin = new Admin({ bootstrapServers: broker.bootstrap })
    try {
      await admin.deleteGroups([GROUP])
    } finally {
      await admin.close()
    }
    await produce(80, 40)
    // Generation 1 again. 40 records take well under a second when the partitions are worked.
    await runUntilStored('third', 60n, 8_000)
    for (const p of [0, 1]) assert.deepEqual(await exactlyOnce(database, 60n, p), { missing: [], duplicated: [], extra: [] }, `partition ${p}`)
  })
})
