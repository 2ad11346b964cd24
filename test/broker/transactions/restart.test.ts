/**
 * Durability: transaction state and markers survive a restart on a data directory, and a
 * transaction that was open or mid-commit when the broker went down is completed or aborted by
 * Kafka's rules afterwards, never left half-visible. Mid-commit: the decision was stored and
 * EndTxn answered, the markers not yet written (the coordinator fault holds them); it commits on
 * restart, offsets included. Open: it stays open, holding the LSO, until its timeout aborts it.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { ManualScheduler } from '../../../src/broker/groups/scheduler.js'
import { OffsetFetch } from '../../../src/protocol/generated/index.js'
import { latestOffset, readPartition, readValues } from './helpers.js'
import { Wire, WireProducer } from './wire.js'

describe('transactions across a broker restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-txn-restart-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  async function withBroker<T>(clock: ManualScheduler, use: (broker: EmbeddedBroker, wire: Wire) => Promise<T>): Promise<T> {
    const broker = await startBroker({ dataDir: dir, transactions: { scheduler: clock } })
    const wire = await Wire.open(broker)
    try {
      return await use(broker, wire)
    } finally {
      await wire.close()
      await broker.stop()
    }
  }

  it('commits a transaction decided before the stop, keeps an open one open until its timeout aborts it', async () => {
    const clock = new ManualScheduler(Date.now())
    const openTimeoutMs = 60_000
    const before = await withBroker(clock, async (broker, wire) => {
      broker.createTopic('restart', { partitions: 1 })
      const done = new WireProducer(wire, 'restart-done')
      await done.init()
      await done.addPartitions([{ topic: 'restart', partition: 0 }])
      await done.produce('restart', 0, ['committed-before'])
      assert.equal(await done.end(true), 0)

      const open = new WireProducer(wire, 'restart-open', openTimeoutMs)
      await open.init()
      await open.addPartitions([{ topic: 'restart', partition: 0 }])
      const { baseOffset: openFirst } = await open.produce('restart', 0, ['open-at-stop'])

      const midCommit = new WireProducer(wire, 'restart-mid')
      await midCommit.init()
      await midCommit.addPartitions([{ topic: 'restart', partition: 0 }])
      await midCommit.produce('restart', 0, ['mid-commit'])
      assert.equal(await midCommit.addOffsets('restart-group'), 0)
      assert.deepEqual(await midCommit.commitOffsets('restart-group', [{ topic: 'restart', partition: 0, offset: 42n }]), [0])
      broker.faults.delayTransactionMarkers(3_600_000)
      assert.equal(await midCommit.end(true), 0, 'EndTxn is answered once the decision is stored')
      assert.equal(await midCommit.end(true), 51, 'CONCURRENT_TRANSACTIONS while its markers are pending')
      assert.deepEqual(await readValues(broker, 'restart', 0, 'read_committed'), ['committed-before'])
      return { openFirst, logEnd: broker.offsets('restart', 0).logEndOffset }
    })

    await withBroker(clock, async (broker, wire) => {
      assert.equal(broker.offsets('restart', 0).logEndOffset, before.logEnd + 1, 'one marker written on restart: the mid-commit one')
      assert.deepEqual(await readValues(broker, 'restart', 0, 'read_committed'), ['committed-before'], 'the open transaction still holds the LSO')
      assert.equal(await latestOffset(broker, 'restart', 0, 'read_committed'), before.openFirst)
      const group = await wire.coordinator('restart-group', 0)
      const offsets = await group.request(OffsetFetch, 7, { groupId: 'restart-group', topics: [{ name: 'restart', partitionIndexes: [0] }], requireStable: true })
      assert.equal(offsets.topics[0]!.partitions[0]!.committedOffset, 42n, 'the mid-commit offsets became visible')

      clock.advance(openTimeoutMs)
      const after = await readPartition(broker, 'restart', 0, 'read_committed')
      assert.deepEqual(after.values, ['committed-before', 'mid-commit'])
      assert.equal(after.lastStableOffset, after.highWatermark, 'the LSO moved on once the timeout aborted the open transaction')
      const zombie = new WireProducer(wire, 'restart-open', openTimeoutMs)
      assert.equal(await zombie.init(), 0, 'the transactional id is usable again')
    })

    await withBroker(clock, async (broker) => {
      const all = await readPartition(broker, 'restart', 0, 'read_committed')
      assert.deepEqual(all.values, ['committed-before', 'mid-commit'], 'markers and the aborted index are rebuilt from the log')
      assert.equal(all.lastStableOffset, all.highWatermark)
      assert.deepEqual(await readValues(broker, 'restart', 0, 'read_uncommitted'), ['committed-before', 'open-at-stop', 'mid-commit'])
    })
  })

  it('aborts at start a partition transaction the coordinator has no open record of', async () => {
    const clock = new ManualScheduler(Date.now())
    await withBroker(clock, async (broker, wire) => {
      broker.createTopic('orphan', { partitions: 1 })
      const p = new WireProducer(wire, 'orphan')
      await p.init()
      await p.addPartitions([{ topic: 'orphan', partition: 0 }])
      await p.produce('orphan', 0, ['orphaned'])
    })
    rmSync(join(dir, 'transaction-coordinator'), { recursive: true, force: true })
    await withBroker(clock, async (broker) => {
      const read = await readPartition(broker, 'orphan', 0, 'read_committed')
      assert.deepEqual(read.values, [])
      assert.equal(read.lastStableOffset, read.highWatermark)
    })
  })
})
