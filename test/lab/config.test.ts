import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { describeConfig, LAB_DEFAULTS, resolveLabConfig } from '../../src/lab/config.js'
import { LabConfigError } from '../../src/lab/errors.js'
import { STRATEGY_NAMES } from '../../src/lab/strategies/index.js'
import { WorkloadPlan } from '../../src/lab/workload.js'

const rejects = (options: Parameters<typeof resolveLabConfig>[0], mentions: string): void => {
  assert.throws(
    () => resolveLabConfig(options),
    (e: unknown) => e instanceof LabConfigError && e.code === 'LAB_INVALID_CONFIG' && e.message.includes(mentions),
  )
}

describe('lab configuration', () => {
  it('defaults follow the report: 6 partitions, 3 consumers, a join, a leave and a crash, every strategy', () => {
    const config = resolveLabConfig()
    assert.equal(config.partitions, 6)
    assert.equal(config.consumers, 3)
    assert.deepEqual(
      config.script.map((s) => s.action),
      ['join', 'leave', 'crash'],
    )
    assert.deepEqual(config.strategies, STRATEGY_NAMES)
    assert.equal(config.brokers, null)
    assert.equal(config.outDir, LAB_DEFAULTS.outDir)
    // The drain must fit in the rebalance timeout, or the coordinator evicts a draining member.
    assert.ok(config.timeouts.drainTimeoutMs < config.timeouts.rebalanceTimeoutMs)
    assert.ok(config.timeouts.heartbeatIntervalMs * 3 <= config.timeouts.sessionTimeoutMs)
  })

  it('names the flag and the allowed range or values when one is wrong', () => {
    rejects({ records: 0 }, '--records')
    rejects({ partitions: 1.5 }, '--partitions')
    rejects({ handlerMs: -1 }, '--handler-ms')
    rejects({ strategies: ['naive', 'magic'] }, 'choose from naive')
    rejects({ strategies: ['baton', 'baton'] }, 'twice')
    rejects({ brokers: ['localhost'] }, 'host:port')
    rejects({ consumers: 1, script: 'crash@1s' }, 'leaves no consumer')
    rejects({ script: 'join@never' }, 'ACTION@TIME')
  })

  it('accepts a cluster to run against instead of the embedded broker', () => {
    assert.deepEqual(resolveLabConfig({ brokers: ['kafka-1:9092', ' kafka-2:9092 '] }).brokers, ['kafka-1:9092', 'kafka-2:9092'])
  })

  it('store: PGlite by default, a PostgreSQL connection string with --store, whose password the report never shows', () => {
    assert.equal(resolveLabConfig().store, null)
    assert.equal(describeConfig(resolveLabConfig()).store, 'pglite')
    const config = resolveLabConfig({ store: 'postgres://lab:secret@db.example:5432/lab' })
    assert.equal(config.store, 'postgres://lab:secret@db.example:5432/lab')
    assert.equal(describeConfig(config).store, 'postgres://lab:***@db.example:5432/lab')
    rejects({ store: 'mysql://db/lab' }, '--store must be a PostgreSQL connection string')
  })

  it('runs the strategies side by side unless asked to run them one at a time; a shorter session for tests', () => {
    assert.equal(resolveLabConfig().sideBySide, true)
    assert.equal(resolveLabConfig({ sideBySide: false }).sideBySide, false)
    const short = resolveLabConfig({ sessionTimeoutMs: 2000 }).timeouts
    assert.equal(short.sessionTimeoutMs, 2000)
    assert.ok(short.heartbeatIntervalMs * 3 <= short.sessionTimeoutMs)
    rejects({ sessionTimeoutMs: 10 }, 'sessionTimeoutMs')
  })
})

describe('lab workload', () => {
  it('spreads records over partitions and draws the same handler times for the same seed', () => {
    const a = new WorkloadPlan({ records: 100, partitions: 6, handlerMs: 50, seed: 9 })
    const b = new WorkloadPlan({ records: 100, partitions: 6, handlerMs: 50, seed: 9 })
    const c = new WorkloadPlan({ records: 100, partitions: 6, handlerMs: 50, seed: 10 })
    const times = (p: WorkloadPlan): number[] => Array.from({ length: 100 }, (_, id) => p.durationOf(id))
    assert.deepEqual(times(a), times(b))
    assert.notDeepEqual(times(a), times(c))
    assert.ok(times(a).every((t) => t >= 25 && t <= 75))
    assert.deepEqual(new Set(Array.from({ length: 100 }, (_, id) => a.partitionOf(id))), new Set([0, 1, 2, 3, 4, 5]))
    assert.equal(WorkloadPlan.decode(Buffer.from(WorkloadPlan.encode(42))), 42)
    assert.equal(WorkloadPlan.decode(Buffer.from('not a lab record')), undefined)
  })
})
