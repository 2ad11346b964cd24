import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { baton } from '../../src/processing/app.js'
import { AppStateError, ConfigError } from '../../src/processing/errors.js'
import { silentLogger } from '../../src/processing/logger.js'
import { FakeCluster, FakeProducer } from '../../src/processing/testing/fake-consumer.js'

const noop = (): Promise<void> => Promise.resolve()

function configError(fn: () => unknown, option: string, mentions: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`)
    assert.equal(error.option, option)
    assert.equal(error.code, 'CONFIG_INVALID')
    assert.match(error.message, mentions)
    return true
  })
}

describe('configuration', () => {
  const cluster = new FakeCluster()
  cluster.createTopic('orders', 1)
  const base = { groupId: 'g', consumer: cluster.member('m'), logger: silentLogger, signals: false as const }

  it('requires a group id', () => {
    configError(() => baton({ ...base, groupId: '' }), 'groupId', /non-empty string/)
  })

  it('requires brokers when no consumer is given, in host:port form', () => {
    configError(() => baton({ groupId: 'g' }), 'brokers', /bootstrap broker/)
    configError(() => baton({ groupId: 'g', brokers: ['localhost'], logger: silentLogger }), 'brokers', /host:port/)
  })

  it('takes groupProtocol classic or consumer, and refuses anything else or a conflicting kafka.groupProtocol', () => {
    configError(() => baton({ ...base, groupProtocol: 'eager' as 'classic' }), 'groupProtocol', /'classic' or 'consumer'/)
    configError(() => baton({ ...base, groupProtocol: 'consumer', kafka: { groupProtocol: 'classic' } }), 'groupProtocol', /set one of them/)
    assert.doesNotThrow(() => baton({ ...base, groupProtocol: 'consumer' }))
  })

  it('refuses a drain deadline that is not below the rebalance timeout, and says how to fix it', () => {
    configError(() => baton({ ...base, drainTimeoutMs: 60_000, rebalanceTimeoutMs: 60_000 }), 'drainTimeoutMs', /below rebalanceTimeoutMs \(60000\).*lower drainTimeoutMs or raise rebalanceTimeoutMs/)
  })

  it('defaults the drain deadline below a short rebalance timeout', () => {
    assert.doesNotThrow(() => baton({ ...base, rebalanceTimeoutMs: 10_000 }))
  })

  it('rejects non-integer and non-positive numbers', () => {
    configError(() => baton({ ...base, concurrency: 0 }), 'concurrency', /positive integer, got 0/)
    configError(() => baton({ ...base, commitIntervalMs: 1.5 }), 'commitIntervalMs', /integer of 0 or more/)
    configError(() => baton({ ...base, commitIntervalMs: -1 }), 'commitIntervalMs', /integer of 0 or more/)
  })

  it('checks each consume() option by name', () => {
    const app = baton(base)
    configError(() => app.consume('orders', noop, { ordering: 'parallel' as never }), "consume('orders').ordering", /'partition'.*'key'/)
    configError(() => app.consume('orders', noop, { retries: -1 }), "consume('orders').retries", /0 or more/)
    configError(
      () => app.consume('orders', noop, { retries: { initialBackoffMs: 500, maxBackoffMs: 100 } }),
      "consume('orders').retries.initialBackoffMs",
      /raise maxBackoffMs/,
    )
    configError(() => app.consume('orders', noop, { deadLetter: 'orders' }), "consume('orders').deadLetter", /differ from the consumed topic/)
    configError(() => app.consume('orders', 'not a function' as never), "consume('orders') handler", /async function/)
    configError(() => app.consumeBatch('orders', noop, { maxRecords: 0 }), "consume('orders').maxRecords", /positive integer/)
  })

  it('refuses a second handler for a topic', () => {
    const app = baton(base)
    app.consume('orders', noop)
    configError(() => app.consume('orders', noop), "consume('orders')", /one handler per topic/)
  })

  it('asks for a producer when dead letters are on, and accepts deadLetter: false without one', async () => {
    const app = baton(base)
    app.consume('orders', noop)
    await assert.rejects(app.start(), (error: unknown) => error instanceof ConfigError && error.option === 'producer' && /deadLetter: false/.test(error.message))

    const skipping = baton({ ...base, consumer: cluster.member('n') })
    skipping.consume('orders', noop, { deadLetter: false })
    await skipping.start()
    await skipping.stop()
  })

  it("throws the same ConfigError for a bad client option under `kafka` as for baton()'s own, from baton() rather than at run()", () => {
    configError(() => baton({ groupId: 'g', brokers: ['127.0.0.1:9'], kafka: { sessionTimeoutMs: -5 }, logger: silentLogger, signals: false }), 'kafka.sessionTimeoutMs', /got -5/)
    configError(() => baton({ groupId: 'g', brokers: '127.0.0.1:9', kafka: { autoOffsetReset: 'first' as never }, logger: silentLogger }), 'kafka.autoOffsetReset', /"first"/)
  })

  it('refuses unknown keys and names the nearest valid one', () => {
    configError(() => baton({ groupId: 'g', brokers: '127.0.0.1:9', kafka: { sessionTimeout: 10_000 } as never, logger: silentLogger }), 'kafka.sessionTimeout', /did you mean kafka\.sessionTimeoutMs\?/)
    configError(() => baton({ ...base, drainTimeout: 5 } as never), 'drainTimeout', /did you mean drainTimeoutMs\?/)
    configError(() => baton({ ...base, bootstrapServers: 'x:1' } as never), 'bootstrapServers', /brokers/)
    const app = baton(base)
    configError(() => app.consume('orders', noop, { retry: 3 } as never), "consume('orders').retry", /did you mean consume\('orders'\)\.retries\?/)
    configError(() => app.consume('orders', noop, { concurrency: 'key' } as never), "consume('orders').concurrency", /ordering/)
  })

  it('takes brokers as a list or a comma-separated string, as the client takes bootstrapServers', () => {
    assert.doesNotThrow(() => baton({ groupId: 'g', brokers: 'a:9092,b:9092', logger: silentLogger }))
    assert.doesNotThrow(() => baton({ groupId: 'g', brokers: ['a:9092', 'b:9092'], logger: silentLogger }))
    configError(() => baton({ groupId: 'g', brokers: 'a:9092,b', logger: silentLogger }), 'brokers', /"b" is not host:port/)
  })

  it('names the value the user set, and says when the other side of a comparison is a default', () => {
    configError(() => baton({ ...base, drainTimeoutMs: 70_000 }), 'drainTimeoutMs', /70000 must be below the default rebalanceTimeoutMs \(60000\)/)
    configError(
      () => baton({ groupId: 'g', brokers: 'a:1', kafka: { heartbeatIntervalMs: 50_000 }, logger: silentLogger }),
      'kafka.heartbeatIntervalMs',
      /50000 must be below the default sessionTimeoutMs \(45000\)/,
    )
  })

  it('refuses to start with no topic, and to add topics once started', async () => {
    await assert.rejects(baton(base).start(), (error: unknown) => error instanceof ConfigError && error.option === 'consume()')
    const app = baton({ ...base, consumer: cluster.member('o'), producer: new FakeProducer() })
    app.consume('orders', noop)
    await app.start()
    assert.throws(() => app.consume('other', noop), AppStateError)
    await app.stop()
  })
})
