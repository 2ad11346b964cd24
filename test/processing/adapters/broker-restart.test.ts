/**
 * Invariant: a broker restart shorter than the session timeout costs a stable group nothing. The
 * broker is a real `baton broker --data DIR` process, SIGKILLed (no flush, no goodbye) and started
 * again on the same port and data, down about 1.5 s in all (measured and printed); three baton apps at session 6000 / heartbeat
 * 1500 ride through it: no onLost, no rebalance (same generation, no revoke or assignment), and
 * every record handled exactly once, before and after the restart.
 */
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { Admin } from '../../../src/client/admin/admin.js'
import { BrokerProcess } from '../../../src/lab/chaos/broker-process.js'
import { baton, type BatonApp } from '../../../src/processing/app.js'
import { CHANNELS, type AssignedEvent, type LostEvent, type RevokedEvent } from '../../../src/processing/instrumentation.js'
import { GroupConsumerPort } from '../../../src/processing/adapters/consumer.js'
import { silentLogger } from '../../../src/processing/logger.js'
import { Condition, produce } from '../../client/group-consumer/helpers.js'

const TOPIC = 'restart'
const GROUP = 'restart-group'
const PARTITIONS = 6
const SESSION_MS = 6_000
const HEARTBEAT_MS = 1_500
/** The restart itself (a warm process loading the data and binding the port) adds well under a second. */
const DOWN_MS = 500

describe('a broker restart under a stable group', () => {
  let dir: string
  let broker: BrokerProcess

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'baton-restart-'))
    broker = await BrokerProcess.start({ dataDir: dir })
    const admin = new Admin({ bootstrapServers: broker.bootstrap })
    await admin.createTopics([{ name: TOPIC, partitions: PARTITIONS, replicationFactor: 1 }])
    await admin.close()
  })
  after(async () => {
    await broker.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('SIGKILL and restart about 1.5 s later: no loss, no rebalance, no duplicate', async (t) => {
    const condition = new Condition()
    const handled = new Map<string, string[]>()
    const events = { assigned: [] as AssignedEvent[], revoked: [] as RevokedEvent[], lost: [] as LostEvent[] }
    const listeners: [string, (m: unknown) => void][] = [
      [CHANNELS.assigned, (m) => void ((m as AssignedEvent).groupId === GROUP && events.assigned.push(m as AssignedEvent))],
      [CHANNELS.revoked, (m) => void ((m as RevokedEvent).groupId === GROUP && events.revoked.push(m as RevokedEvent))],
      [CHANNELS.lost, (m) => void ((m as LostEvent).groupId === GROUP && events.lost.push(m as LostEvent))],
    ]
    for (const [channel, listener] of listeners) diagnostics.subscribe(channel, listener)
    const apps: { app: BatonApp; port: GroupConsumerPort }[] = []
    try {
      await produce(broker.bootstrap, TOPIC, PARTITIONS, 50)
      for (const name of ['a', 'b', 'c']) {
        const port = new GroupConsumerPort({
          bootstrapServers: broker.bootstrap,
          clientId: name,
          groupId: GROUP,
          autoOffsetReset: 'earliest',
          sessionTimeoutMs: SESSION_MS,
          heartbeatIntervalMs: HEARTBEAT_MS,
          rebalanceTimeoutMs: 10_000,
          fetchMaxWaitMs: 100,
        })
        const app = baton({ groupId: GROUP, brokers: broker.bootstrap, consumer: port, logger: silentLogger, signals: false, rebalanceTimeoutMs: 10_000, commitIntervalMs: 500 })
        app.consume(TOPIC, (record) => {
          const key = `${record.partition}:${record.offset}`
          handled.set(key, [...(handled.get(key) ?? []), name])
          condition.poke()
          return Promise.resolve()
        }, { deadLetter: false })
        await app.start()
        apps.push({ app, port })
      }
      const generations = (): number[] => apps.map((a) => a.port.consumer.generationId)
      const owned = (): number => apps.reduce((n, a) => n + a.port.consumer.assignment().length, 0)
      await condition.until(
        () => handled.size === PARTITIONS * 50 && owned() === PARTITIONS && apps.every((a) => a.port.consumer.assignment().length > 0) && new Set(generations()).size === 1,
        'three members share the partitions and have handled the first records',
        60_000,
      )
      const generation = generations()[0]!
      const before = { assigned: events.assigned.length, revoked: events.revoked.length }

      await broker.kill('SIGKILL')
      const killedAt = performance.now()
      await sleep(DOWN_MS)
      await broker.restart()
      const downMs = performance.now() - killedAt
      t.diagnostic(`broker down for ${Math.round(downMs)} ms (kill to listening)`)
      assert.ok(downMs < SESSION_MS - HEARTBEAT_MS, `the broker was down ${Math.round(downMs)} ms, too close to the session timeout for this test to mean anything`)

      await produce(broker.bootstrap, TOPIC, PARTITIONS, 50, 50)
      await condition.until(() => handled.size === PARTITIONS * 100, 'the records written after the restart are handled', 60_000)
      // A false loss would come at the latest one session after the kill; watch until then has passed.
      const watchUntil = killedAt + SESSION_MS + 2 * HEARTBEAT_MS
      if (performance.now() < watchUntil) await sleep(watchUntil - performance.now())

      assert.deepEqual(events.lost, [], 'no member lost its partitions')
      assert.equal(events.revoked.length, before.revoked, 'no revocation: no rebalance')
      assert.equal(events.assigned.length, before.assigned, 'no new assignment: no rebalance')
      assert.deepEqual(generations(), [generation, generation, generation], 'every member is still in the same generation')
      const duplicates = [...handled].filter(([, by]) => by.length > 1)
      assert.deepEqual(duplicates, [], 'no record handled twice')
    } finally {
      await Promise.all(apps.map((a) => a.app.stop()))
      for (const [channel, listener] of listeners) diagnostics.unsubscribe(channel, listener)
    }
  })
})
