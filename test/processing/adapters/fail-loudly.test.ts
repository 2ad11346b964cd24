/**
 * Invariant: the framework never waits in silence. On baton's own client and the embedded broker:
 * - with no broker answering, `run()` rejects with `BrokersUnreachableError` after
 *   `unreachableTimeoutMs` and sets exit code 1, having said what it waits for, and its stop adds
 *   no warning of its own;
 * - a subscribed topic that does not exist is named in a warning, and consumed once created;
 * - a stop finishes within its deadline even while the group waits for a crashed member's session,
 *   and the wait was logged with what it waits for;
 * - a member that had joined and is stopped while its JoinGroup is parked (the group waits for a
 *   crashed member) leaves at once, beside the parked request, instead of waiting out the session.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import { baton, EXIT_CODES, type BatonApp } from '../../../src/processing/app.js'
import { BrokersUnreachableError } from '../../../src/processing/errors.js'
import { ClientClosedError } from '../../../src/client/errors.js'
import { MembershipError } from '../../../src/client/membership/errors.js'
import { closedPort, recordingLogger, type LogLine } from '../../helpers/logging.js'
import { Condition, FaultyGroupConsumer, kafkaTimings, produce, startTestBroker } from '../../client/group-consumer/helpers.js'

describe('failing loudly', () => {
  let broker: EmbeddedBroker
  before(async () => {
    broker = await startTestBroker()
  })
  after(async () => {
    await broker.stop()
  })
  /** An app whose members keep a 30 s session: a crashed one holds the group's rebalance that long. */
  const appWithLongSession = (groupId: string, lines: LogLine[], condition: Condition, shutdownTimeoutMs: number): BatonApp =>
    baton({
      brokers: broker.bootstrap,
      groupId,
      logger: recordingLogger(lines, () => condition.poke()),
      signals: false,
      rebalanceTimeoutMs: 60_000,
      shutdownTimeoutMs,
      kafka: { sessionTimeoutMs: 30_000, heartbeatIntervalMs: 200, retryBackoffMs: 50 },
    })

  it('rejects run() with BrokersUnreachableError and exit code 1 when no broker answers within unreachableTimeoutMs', async () => {
    const lines: LogLine[] = []
    const condition = new Condition()
    const port = await closedPort()
    const app = baton({
      brokers: [`127.0.0.1:${port}`],
      groupId: 'nobody-home',
      logger: recordingLogger(lines, () => condition.poke()),
      signals: false,
      unreachableTimeoutMs: 1500,
      kafka: { ...kafkaTimings(), reconnectBackoffMs: 50, reconnectBackoffMaxMs: 200 },
    })
    app.consume('orders', () => Promise.resolve(), { deadLetter: false })
    const previousExitCode = process.exitCode
    try {
      await assert.rejects(app.run(), (error: unknown) => {
        assert.ok(error instanceof BrokersUnreachableError, `expected BrokersUnreachableError, got ${String(error)}`)
        assert.equal(error.code, 'PROCESSING_BROKERS_UNREACHABLE')
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`))
        return true
      })
      assert.equal(process.exitCode, EXIT_CODES.fatal)
    } finally {
      process.exitCode = previousExitCode
    }
    assert.equal(lines.some((l) => l.message === 'baton started'), false, 'never claims to have started')
    // Logged once, with what to do, not once by the watch and again, with the same stack, as the start's failure.
    const logged = lines.filter((l) => l.fields['err'] instanceof BrokersUnreachableError)
    assert.equal(logged.length, 1, JSON.stringify(logged.map((l) => l.message)))
    assert.ok(logged[0]!.level === 'error' && /no answer from the group coordinator/.test(logged[0]!.message))
    // A member that never reached a coordinator has nothing to leave: its stop neither waits for
    // the group nor reports the connections it closed under its coordinator lookup.
    const stopNoise = lines.filter((l) => l.fields['err'] instanceof ClientClosedError || (l.fields['err'] instanceof MembershipError && l.fields['err'].code === 'GROUP_CLOSE_TIMEOUT'))
    assert.deepEqual(stopNoise.map((l) => l.message), [])
    assert.equal(app.health().ready, false)
  })

  it('warns of a subscribed topic that does not exist, by name, and consumes it once created', async () => {
    const lines: LogLine[] = []
    const condition = new Condition()
    const handled: string[] = []
    const app = baton({
      brokers: broker.bootstrap,
      groupId: 'late-topic-group',
      logger: recordingLogger(lines, () => condition.poke()),
      signals: false,
      rebalanceTimeoutMs: 5000,
      kafka: { ...kafkaTimings(), allowAutoTopicCreation: false },
    })
    app.consume(
      'late-topic',
      (record) => {
        handled.push(String(record.value))
        condition.poke()
        return Promise.resolve()
      },
      { deadLetter: false },
    )
    try {
      await app.start()
      await condition.until(() => lines.some((l) => l.level === 'warn' && l.message.includes('"late-topic"') && /does not exist/.test(l.message)), 'a warning naming the missing topic')
      const started = lines.find((l) => l.message === 'baton started')
      assert.ok(started !== undefined)
      assert.equal(typeof started.fields['memberId'], 'string')
      assert.equal(started.fields['protocol'], 'cooperative')
      await condition.until(() => app.health().ready, 'ready: in the group, which has no partitions to give')

      broker.createTopic('late-topic', { partitions: 2 })
      await produce(broker.bootstrap, 'late-topic', 2, 3)
      await condition.until(() => handled.length === 6, 'the records of the topic created after the start')
      const rebalanced = lines.find((l) => l.message === 'rebalanced')
      assert.deepEqual(rebalanced?.fields['added'], ['late-topic[0]', 'late-topic[1]'])
      assert.deepEqual(rebalanced?.fields['owned'], ['late-topic[0]', 'late-topic[1]'])
    } finally {
      await app.stop()
    }
  })

  it('stops within its deadline while the group waits for a crashed member’s session, and logs what it waited for', async () => {
    broker.createTopic('sessions', { partitions: 2 })
    const groupId = 'pending-session-group'
    const condition = new Condition()
    // A member with a long session that dies without leaving: the coordinator waits for it.
    const crashed = new FaultyGroupConsumer({ bootstrapServers: broker.bootstrap, groupId, sessionTimeoutMs: 30_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 60_000 })
    crashed.subscribe(['sessions'])
    await condition.until(() => crashed.state === 'stable', 'the soon-crashed member to join')
    crashed.crash()

    const lines: LogLine[] = []
    let app: BatonApp | undefined
    try {
      app = appWithLongSession(groupId, lines, condition, 1000)
      app.consume('sessions', () => Promise.resolve(), { deadLetter: false })
      const starting = app.start()
      starting.catch(() => undefined)
      await condition.until(
        () => lines.some((l) => l.level === 'info' && /^waiting \d+ s for group "pending-session-group" to complete its rebalance/.test(l.message) && /session/.test(l.message)),
        'a log line saying what the join waits for',
      )
      assert.equal(app.health().ready, false)
      const stopAsked = performance.now()
      let stoppedAt: number | undefined
      const stopping = app.stop().then((result) => {
        stoppedAt = performance.now()
        return result
      })
      // The crashed member's session has more than 20 s to go: a stop that waited for it would miss this.
      await condition.until(() => stoppedAt !== undefined, 'the stop to finish within its deadline (1 s drain + 5 s to commit and leave)', 12_000)
      const result = await stopping
      assert.equal(result.exitCode, EXIT_CODES.ok)
      assert.ok((stoppedAt ?? Infinity) - stopAsked < 12_000)
      await starting
    } finally {
      await app?.stop()
      await crashed.close()
    }
  })
  it('a joined member stopped while its rejoin waits for a crashed member’s session leaves at once, well within shutdownTimeoutMs', async () => {
    broker.createTopic('sessions-joined', { partitions: 2 })
    const groupId = 'pending-session-joined-group'
    const condition = new Condition()
    const timings = { sessionTimeoutMs: 30_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 60_000, retryBackoffMs: 50 }
    const crashed = new FaultyGroupConsumer({ bootstrapServers: broker.bootstrap, groupId, ...timings })
    crashed.subscribe(['sessions-joined'])
    await condition.until(() => crashed.state === 'stable', 'the soon-crashed member to join')
    const lines: LogLine[] = []
    const app = appWithLongSession(groupId, lines, condition, 3000)
    app.consume('sessions-joined', () => Promise.resolve(), { deadLetter: false })
    // A third member whose join starts a rebalance after the crash: the coordinator then waits for the crashed member's session.
    const late = new FaultyGroupConsumer({ bootstrapServers: broker.bootstrap, groupId, ...timings })
    try {
      await app.start()
      await condition.until(() => crashed.state === 'stable' && app.health().partitions > 0, 'the app to own partitions beside the soon-crashed member')
      crashed.crash()
      late.subscribe(['sessions-joined'])
      await condition.until(
        () => lines.some((l) => /^waiting \d+ s for group "pending-session-joined-group" to complete its rebalance/.test(l.message)),
        'the app to wait in its rejoin for the crashed member',
      )
      const stopAsked = performance.now()
      const result = await app.stop()
      const tookMs = performance.now() - stopAsked
      assert.equal(result.exitCode, EXIT_CODES.ok)
      // Before, the stop waited for the parked JoinGroup until shutdownTimeoutMs + 5 s, then closed its connections without leaving.
      assert.ok(tookMs < 3000, `the stop took ${Math.round(tookMs)} ms`)
      assert.equal(lines.some((l) => /did not let this member leave|LeaveGroup could not be sent/.test(l.message)), false, JSON.stringify(lines.filter((l) => l.level !== 'info')))
    } finally {
      await app.stop()
      await late.close({ timeoutMs: 1000 })
      await crashed.close()
    }
  })
})
