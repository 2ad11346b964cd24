/**
 * Invariants of the transactional delivery, end to end on the embedded broker:
 * - what handlers produce with `ctx.produce` becomes visible to read_committed readers together
 *   with the group's committed offsets, each input's outputs once;
 * - one transaction carries many records, at most `maxRecords`: it starts once `maxRecords` are
 *   done, or once the oldest done record has waited `maxMs`;
 * - on revocation the partition's work is drained and committed in a transaction before it moves:
 *   the next owner starts there, and no input's output is written twice;
 * - a failed attempt's outputs are never written: a retry writes its own, and a record whose
 *   retries run out is dead-lettered inside the transaction, with no output of its attempts.
 */
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { Admin } from '../../../src/client/admin/admin.js'
import { KafkaError, KafkaErrorCode, Producer } from '../../../src/client/index.js'
import { baton, type BatonApp, type BatonAppOptions } from '../../../src/processing/app.js'
import { ConfigError } from '../../../src/processing/errors.js'
import { CHANNELS, type RevokedEvent, type TransactionEvent } from '../../../src/processing/instrumentation.js'
import { silentLogger } from '../../../src/processing/logger.js'
import { FakeCluster } from '../../../src/processing/testing/fake-consumer.js'
import { produce } from '../../client/group-consumer/helpers.js'
import { deferred } from '../helpers.js'
import { countByInput, readTopic, waitFor } from './helpers/outputs.js'

const GROUP_MOVED_ON: readonly number[] = [KafkaErrorCode.ILLEGAL_GENERATION, KafkaErrorCode.REBALANCE_IN_PROGRESS, KafkaErrorCode.UNKNOWN_MEMBER_ID]
const FAST = { sessionTimeoutMs: 3_000, heartbeatIntervalMs: 300, fetchMaxWaitMs: 50 } as const

function appOptions(broker: EmbeddedBroker, groupId: string, transactions: BatonAppOptions['transactions']): BatonAppOptions {
  return { brokers: broker.bootstrap, groupId, logger: silentLogger, signals: false, rebalanceTimeoutMs: 6_000, kafka: FAST, transactions }
}

/** Topics `<name>-in` and `<name>-out` of `partitions` partitions, the input holding `perPartition` records in each. */
async function inputAndOutput(broker: EmbeddedBroker, name: string, partitions: number, perPartition: number): Promise<void> {
  broker.createTopic(`${name}-in`, { partitions })
  broker.createTopic(`${name}-out`, { partitions })
  await produce(broker.bootstrap, `${name}-in`, partitions, perPartition)
}

/** Starts `app`, waits until `done` holds (at most `ms`), and stops it whatever happened. */
async function runUntil(app: BatonApp, what: string, done: () => Promise<boolean>, ms: number): Promise<void> {
  await app.start()
  try {
    await waitFor(what, done, ms)
  } finally {
    await app.stop()
  }
}

/** The transaction events of one transactional id while `run` runs. */
async function recordingTransactions<T>(transactionalId: string, run: (events: TransactionEvent[]) => Promise<T>): Promise<T> {
  const events: TransactionEvent[] = []
  const listener = (message: unknown): void => {
    const event = message as TransactionEvent
    if (event.transactionalId === transactionalId) events.push(event)
  }
  diagnostics.subscribe(CHANNELS.transaction, listener)
  try {
    return await run(events)
  } finally {
    diagnostics.unsubscribe(CHANNELS.transaction, listener)
  }
}

function untilRevokedOr(revoking: AbortSignal, other: Promise<void>): Promise<void> {
  if (revoking.aborted) return Promise.resolve()
  return Promise.race([other, new Promise<void>((resolve) => revoking.addEventListener('abort', () => resolve(), { once: true }))])
}

describe("delivery: 'transactional' on the embedded broker", () => {
  let broker: EmbeddedBroker
  before(async () => {
    broker = await startBroker({ nodes: 1, memory: true, groups: { initialRebalanceDelayMs: 0, minSessionTimeoutMs: 500, consumerSessionTimeoutMs: 3_000, consumerHeartbeatIntervalMs: 300 } })
  })
  after(async () => {
    await broker.stop()
  })

  it('writes each input’s outputs once with the offsets; a transaction starts once maxRecords are done and carries at most that many', async () => {
    await inputAndOutput(broker, 'count', 3, 100)
    await recordingTransactions('count-tx', async (events) => {
      // maxMs far beyond the test: only the count can start a transaction while the app runs.
      const app = baton(appOptions(broker, 'count-group', { transactionalId: 'count-tx', maxRecords: 50, maxMs: 600_000 }))
      app.consume('count-in', async (record, ctx) => {
        await ctx.produce({ topic: 'count-out', key: record.key, value: `${record.partition}:${record.offset}@a` })
      }, { delivery: 'transactional' })
      await runUntil(app, 'most outputs to be committed by count-bounded transactions', async () => (await readTopic(broker, 'count-out', 3, 'read_committed')).length >= 250, 30_000)
      const committed = events.filter((e) => e.phase === 'committed' && e.records > 0)
      // The bound holds however many records finished while a transaction was under way.
      for (const event of committed) assert.ok(event.records <= 50, `a transaction carried ${event.records} records, above maxRecords`)
      assert.ok(committed.length >= 300 / 50, `${committed.length} transactions for 300 records`)
      assert.equal(committed.reduce((sum, e) => sum + e.records, 0), 300)
      assert.equal(events.filter((e) => e.phase === 'aborted').length, 0)
    })
    const outputs = await readTopic(broker, 'count-out', 3, 'read_committed')
    const counts = countByInput(outputs)
    assert.equal(counts.size, 300)
    assert.deepEqual([...counts.values()].filter((n) => n !== 1), [], 'an input with more than one output')
    const admin = new Admin({ bootstrapServers: broker.bootstrap })
    try {
      const offsets = await admin.fetchOffsets('count-group', [{ topic: 'count-in', partitions: [0, 1, 2] }])
      assert.deepEqual(offsets.map((o) => o.offset), [100n, 100n, 100n])
    } finally {
      await admin.close()
    }
  })

  it('a transaction starts once the oldest done record has waited maxMs, however few are done', async () => {
    await inputAndOutput(broker, 'time', 1, 30)
    await recordingTransactions('time-tx', async (events) => {
      const app = baton(appOptions(broker, 'time-group', { transactionalId: 'time-tx', maxRecords: 100_000, maxMs: 200 }))
      app.consume('time-in', async (record, ctx) => {
        await ctx.produce({ topic: 'time-out', value: `${record.partition}:${record.offset}@a` })
      }, { delivery: 'transactional' })
      // Visible while the app runs: no stop flushed them.
      await runUntil(app, 'the 30 outputs to be committed by time', async () => (await readTopic(broker, 'time-out', 1, 'read_committed')).length === 30, 20_000)
      assert.ok(events.some((e) => e.phase === 'committed' && e.records > 0))
    })
    assert.equal(countByInput(await readTopic(broker, 'time-out', 1, 'read_committed')).size, 30)
  })

  it('a failed attempt’s outputs are dropped: a retry writes its own, a record out of retries is dead-lettered in the transaction', async () => {
    broker.createTopic('fail-in', { partitions: 1 })
    broker.createTopic('fail-out', { partitions: 1 })
    broker.createTopic('fail-in.DLT', { partitions: 1 })
    const producer = new Producer({ bootstrapServers: broker.bootstrap })
    for (const value of ['ok-1', 'flaky', 'ok-2', 'poison', 'ok-3']) await producer.send({ topic: 'fail-in', partition: 0, value })
    await producer.close()
    const app = baton(appOptions(broker, 'fail-group', { transactionalId: 'fail-tx', maxMs: 20 }))
    app.consume('fail-in', async (record, ctx) => {
      const value = String(record.value)
      await ctx.produce({ topic: 'fail-out', value: `${value}#${ctx.attempt}` })
      if (value === 'poison' || (value === 'flaky' && ctx.attempt === 1)) throw new Error(`${value} failed on attempt ${ctx.attempt}`)
    }, { delivery: 'transactional', retries: { retries: 1, initialBackoffMs: 1, maxBackoffMs: 1 } })
    await runUntil(app, 'the four outputs', async () => (await readTopic(broker, 'fail-out', 1, 'read_committed')).length >= 4, 20_000)
    assert.deepEqual(await readTopic(broker, 'fail-out', 1, 'read_committed'), ['ok-1#1', 'flaky#2', 'ok-2#1', 'ok-3#1'])
    assert.deepEqual(await readTopic(broker, 'fail-in.DLT', 1, 'read_committed'), ['poison'])
    // Nothing of the failed attempts was even sent: the outputs were held, not aborted.
    assert.deepEqual(await readTopic(broker, 'fail-out', 1, 'read_uncommitted'), ['ok-1#1', 'flaky#2', 'ok-2#1', 'ok-3#1'])
  })

  for (const groupProtocol of ['classic', 'consumer'] as const) {
    it(`on revocation (${groupProtocol} protocol): drains, commits the transaction, then releases; the next owner starts where it ended`, async () => {
      const p = groupProtocol
      await inputAndOutput(broker, `rev-${p}`, 4, 50)
      const secondStarted = deferred()
      const revoked: RevokedEvent[] = []
      const onRevoked = (message: unknown): void => {
        const event = message as RevokedEvent
        if (event.groupId === `rev-group-${p}` && event.reason === 'rebalance') revoked.push(event)
      }
      diagnostics.subscribe(CHANNELS.revoked, onRevoked)
      const apps = ['first', 'second'].map((name) => {
        // Under KIP-848 the coordinator sets the session and heartbeat (the broker's consumer* settings).
        const options = appOptions(broker, `rev-group-${p}`, { transactionalId: `rev-${p}-${name}`, maxRecords: 10, maxMs: 20 })
        const app = baton(groupProtocol === 'classic' ? options : { ...options, groupProtocol, kafka: { fetchMaxWaitMs: 50 } })
        app.consume(`rev-${p}-in`, async (record, ctx) => {
          await new Promise((resolve) => setTimeout(resolve, 10))
          // The first member's records from offset 5 on wait for the second member (or for their
          // partition's revocation), so that the revocation finds work under way to drain and commit.
          if (name === 'first' && record.offset >= 5n) await untilRevokedOr(ctx.revokingSignal, secondStarted.promise)
          await ctx.produce({ topic: `rev-${p}-out`, key: record.key, value: `${record.partition}:${record.offset}@${name}` })
        }, { delivery: 'transactional' })
        return app
      })
      try {
        await recordingTransactions(`rev-${p}-first`, async (events) => {
          await (apps[0] as BatonApp).start()
          await waitFor('the first member to commit a transaction', () => events.some((e) => e.phase === 'committed' && e.records > 0), 20_000)
          // The second member's join revokes some of the first's partitions while their records run.
          await (apps[1] as BatonApp).start()
          secondStarted.resolve()
          await waitFor('a revocation of the first member', () => revoked.length > 0, 20_000)
          const first = revoked[0] as RevokedEvent
          assert.equal(first.commitError, undefined)
          assert.ok(first.committed.length > 0, 'the revocation committed nothing')
          // A transaction whose offsets carry the generation the rebalance just ended is refused and
          // aborted; its outputs stay held and go in the next one.
          for (const event of events.filter((e) => e.phase === 'aborted')) {
            const cause = (event.error as Error).cause
            assert.ok(cause instanceof KafkaError && GROUP_MOVED_ON.includes(cause.errorCode), `a transaction aborted for another reason: ${String(event.error)}`)
          }
        })
        await waitFor('every input to have a committed output', async () => countByInput(await readTopic(broker, `rev-${p}-out`, 4, 'read_committed')).size === 200, 30_000)
      } finally {
        diagnostics.unsubscribe(CHANNELS.revoked, onRevoked)
        await Promise.all(apps.map((app) => app.stop()))
      }
      const counts = countByInput(await readTopic(broker, `rev-${p}-out`, 4, 'read_committed'))
      assert.equal(counts.size, 200)
      assert.deepEqual([...counts].filter(([, n]) => n !== 1), [], 'inputs with more than one visible output')
    })
  }

  it('refuses a transactional route without the built-in client, and wrong transactions settings, at configuration', () => {
    const cluster = new FakeCluster()
    const withoutBrokers = baton({ groupId: 'g', consumer: cluster.member('m'), logger: silentLogger, signals: false })
    assert.throws(() => withoutBrokers.consume('t', () => Promise.resolve(), { delivery: 'transactional' }), (e: unknown) => e instanceof ConfigError && e.option === "consume('t').delivery")
    const fakeWithBrokers = baton({ brokers: broker.bootstrap, groupId: 'g', consumer: cluster.member('n'), logger: silentLogger, signals: false })
    assert.throws(() => fakeWithBrokers.consume('t', () => Promise.resolve(), { delivery: 'transactional' }), (e: unknown) => e instanceof ConfigError && e.option === "consume('t').delivery" && /groupMetadata/.test(e.message))
    assert.throws(() => baton({ brokers: broker.bootstrap, groupId: 'g', transactions: { maxMs: 0 } }), (e: unknown) => e instanceof ConfigError && e.option === 'transactions.maxMs')
    assert.throws(() => baton({ brokers: broker.bootstrap, groupId: 'g', transactions: { transactionalId: '' } }), (e: unknown) => e instanceof ConfigError && e.option === 'transactions.transactionalId')
    assert.throws(() => baton({ brokers: broker.bootstrap, groupId: 'g', transactions: { maxRecord: 5 } as never }), (e: unknown) => e instanceof ConfigError && e.option === 'transactions.maxRecord')
  })
})
