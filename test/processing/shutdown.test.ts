/**
 * Invariant: a graceful stop stops fetching, lets in-flight work finish up to the shutdown deadline,
 * commits it, and only then leaves the group; the exit code says whether everything finished.
 */
import { afterEach, describe, it, mock } from 'node:test'
import assert from 'node:assert/strict'
import { baton, EXIT_CODES, SIGNAL_REPEAT_WINDOW_MS } from '../../src/processing/app.js'
import { silentLogger } from '../../src/processing/logger.js'
import { ControlledHandler, group, TP0, within, type Group } from './helpers.js'

describe('graceful shutdown', () => {
  let g: Group | undefined
  afterEach(async () => {
    await g?.close()
    g = undefined
  })

  it('drains in-flight work, commits it, then leaves the group (exit code 0)', async () => {
    g = group()
    for (let i = 0; i < 5; i++) g.cluster.produce('orders', 0, { value: `v${i}` })
    const handler = new ControlledHandler((offset) => offset < 2n)
    const a = await g.member('a', handler.for('a'))
    await a.consumer.assign([TP0])
    const running = await handler.started(2n)

    const stopped = a.app.stop()
    assert.equal(a.consumer.isPaused(TP0), true, 'fetching stopped first')
    assert.equal(running.ctx.revoking, true)
    handler.finish(2n)
    const result = await stopped

    assert.deepEqual(result, { reason: 'stopped', exitCode: EXIT_CODES.ok, aborted: 0, error: undefined, uncommitted: [] })
    assert.equal(g.cluster.committedOffset('orders', 0), 3n)
    const commitAt = g.cluster.history.findIndex((e) => e.type === 'committed')
    const leftAt = g.cluster.history.findIndex((e) => e.type === 'left')
    assert.ok(commitAt >= 0 && commitAt < leftAt, 'committed before leaving')
    assert.deepEqual(
      handler.calls.map((c) => c.offset),
      [0n, 1n, 2n],
      'queued records are not started during the stop',
    )
  })

  it('aborts work still running at the shutdown deadline and says so in the exit code', async () => {
    g = group()
    g.cluster.produce('orders', 0, { value: 'slow' })
    const handler = new ControlledHandler()
    const a = await g.member('a', handler.for('a'), {}, { shutdownTimeoutMs: 20 })
    await a.consumer.assign([TP0])
    const running = await handler.started(0n)
    const result = await a.app.stop()
    assert.equal(result.exitCode, EXIT_CODES.drainTimeout)
    assert.equal(result.aborted, 1)
    assert.equal(running.ctx.signal.aborted, true)
    assert.equal(g.cluster.committedOffset('orders', 0), 0n)
    handler.finish(0n)
  })

  it('run() stops gracefully on the first signal and sets process.exitCode', async () => {
    g = group()
    g.cluster.produce('orders', 0, { value: 'v' })
    const handler = new ControlledHandler(() => true)
    const consumer = g.cluster.member('b')
    const app = baton({ groupId: 'g', consumer, producer: g.producer, logger: silentLogger, signals: ['SIGHUP'] })
    app.consume('orders', handler.for('b'))
    const previousExitCode = process.exitCode
    // Not SIGUSR2: Node 24's test runner writes a diagnostic report file for it (its --report-signal).
    // Count only baton's listeners all the same.
    const othersListening = process.listenerCount('SIGHUP')
    try {
      const running = app.run()
      await g.cluster.waitFor((e) => e.type === 'joined' && e.member === 'b')
      await consumer.assign([TP0])
      await handler.call((c) => c.member === 'b')
      process.emit('SIGHUP', 'SIGHUP')
      const result = await within(running)
      assert.equal(result.reason, 'signal')
      assert.equal(result.exitCode, 0)
      assert.equal(process.exitCode, 0)
      assert.equal(process.listenerCount('SIGHUP'), othersListening, 'signal handlers removed')
      assert.equal(g.cluster.committedOffset('orders', 0), 1n)
    } finally {
      process.exitCode = previousExitCode
      await app.stop()
    }
  })

  it('a second signal aborts everything and exits at once with 128 + the signal number; a repeat within a second is the same request', async () => {
    g = group()
    g.cluster.produce('orders', 0, { value: 'v' })
    const handler = new ControlledHandler()
    const consumer = g.cluster.member('a')
    const exits: number[] = []
    const app = baton({
      groupId: 'g',
      consumer,
      producer: g.producer,
      logger: silentLogger,
      signals: ['SIGHUP'],
      shutdownTimeoutMs: 30_000,
      exit: (code) => void exits.push(code),
    })
    app.consume('orders', handler.for('a'))
    const previousExitCode = process.exitCode
    try {
      const running = app.run()
      await g.cluster.waitFor((e) => e.type === 'joined' && e.member === 'a')
      await consumer.assign([TP0])
      const call = await handler.started(0n)
      mock.timers.enable({ apis: ['Date'], now: 1_000_000 })
      process.emit('SIGHUP', 'SIGHUP')
      assert.equal(call.ctx.revoking, true)
      // The same signal at once is the same request (a process group signalled twice): ignored.
      process.emit('SIGHUP', 'SIGHUP')
      assert.deepEqual(exits, [])
      assert.equal(call.ctx.signal.aborted, false)
      mock.timers.tick(SIGNAL_REPEAT_WINDOW_MS + 1)
      process.emit('SIGHUP', 'SIGHUP')
      const result = await within(running)
      assert.equal(result.reason, 'forced')
      assert.deepEqual(exits, [128 + 1]) // SIGHUP is signal 1
      assert.equal(call.ctx.signal.aborted, true)
    } finally {
      mock.timers.reset()
      process.exitCode = previousExitCode
      handler.finish(0n)
      await app.stop()
    }
  })

  it('stops with exit code 1 when the consumer fails for good', async () => {
    g = group()
    const a = await g.member('a', new ControlledHandler().for('a'))
    a.consumer.fail(new Error('authentication revoked'))
    const result = await a.app.stop()
    assert.equal(result.reason, 'fatal')
    assert.equal(result.exitCode, EXIT_CODES.fatal)
    assert.equal(result.error?.message, 'authentication revoked')
  })
})

