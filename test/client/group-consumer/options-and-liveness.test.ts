/**
 * GroupConsumer's options and its max.poll.interval liveness.
 * Invariants: wrong options fail at construction with a ConfigError naming the option; an
 * application waiting in the iterator counts as polling (idle partitions never get the member
 * kicked out), while one that holds a batch past `maxPollIntervalMs` loses its partitions through
 * onLost, hears why (GROUP_POLL_TIMEOUT), and rejoins when it asks for records again.
 */
import { errorLogger } from '../../../src/net/logger.js'
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import { GroupConsumer, type GroupConsumerBatch } from '../../../src/client/consumer/group-consumer.js'
import { ConfigError } from '../../../src/client/errors.js'
import type { BatonError } from '../../../src/protocol/errors/base.js'
import { Condition, FaultyGroupConsumer, groupTimings, produce, startTestBroker } from './helpers.js'

describe('GroupConsumer options', () => {
  const base = { bootstrapServers: '127.0.0.1:9', groupId: 'g' }

  it('rejects wrong options with a ConfigError naming the option', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ groupId: '' }, 'groupId'],
      [{ assignors: ['fastest'] }, 'assignors'],
      [{ assignors: [] }, 'assignors'],
      [{ heartbeatIntervalMs: 5_000, sessionTimeoutMs: 3_000 }, 'heartbeatIntervalMs'],
      [{ sessionTimeoutMs: -1 }, 'sessionTimeoutMs'],
      [{ autoOffsetReset: 'smallest' }, 'autoOffsetReset'],
    ]
    for (const [options, option] of cases) {
      assert.throws(
        () => new GroupConsumer({ ...base, ...options }),
        (error: unknown) => error instanceof ConfigError && error.message.includes(option),
        `${JSON.stringify(options)} is refused, naming ${option}`,
      )
    }
  })

  it('refuses an empty subscription', async () => {
    const consumer = new GroupConsumer(base)
    try {
      assert.throws(() => consumer.subscribe([]), ConfigError)
    } finally {
      await consumer.close()
    }
  })
})

describe('GroupConsumer liveness (maxPollIntervalMs)', () => {
  let broker: EmbeddedBroker

  before(async () => {
    broker = await startTestBroker()
  })

  after(async () => {
    await broker.stop()
  })

  it('waiting in the iterator keeps the member in; holding a batch past the interval loses the partitions until the next poll', async () => {
    broker.createTopic('liveness', { partitions: 1 })
    const condition = new Condition()
    const hooks: string[] = []
    const errors: BatonError[] = []
    const consumer = new FaultyGroupConsumer({
      bootstrapServers: broker.bootstrap,
      groupId: 'liveness-group',
      autoOffsetReset: 'earliest',
      ...groupTimings(),
      maxPollIntervalMs: 500,
      logger: errorLogger((e) => void (errors.push(e), condition.poke())),
      hooks: {
        onAssign: (ps) => void (hooks.push(`assign:${ps.length}`), condition.poke()),
        onLost: (ps) => void (hooks.push(`lost:${ps.length}`), condition.poke()),
      },
    })
    try {
      consumer.subscribe(['liveness'])
      const batches = consumer.batches()
      const first = batches.next()
      await condition.until(() => consumer.state === 'stable' && consumer.assignment().length === 1, 'assigned')
      // Twelve heartbeats (1.2 s) with nothing to read, well past the 500 ms interval: still in.
      const from = consumer.heartbeats
      await condition.until(() => consumer.heartbeats >= from + 12, 'twelve heartbeats go by')
      assert.deepEqual(hooks, ['assign:1'], 'never lost while waiting for records')
      await produce(broker.bootstrap, 'liveness', 1, 1)
      const batch = (await first).value as GroupConsumerBatch
      assert.equal(batch.records.length, 1)
      // Now the application sits on the batch and does not ask for more.
      await condition.until(() => hooks.includes('lost:1'), 'the member gives its partition up')
      assert.ok(errors.some((e) => e.code === 'GROUP_POLL_TIMEOUT'), 'and says why')
      const second = batches.next()
      await condition.until(() => hooks.filter((h) => h === 'assign:1').length === 2, 'asking again rejoins')
      const next = (await second).value as GroupConsumerBatch
      assert.equal(next.records[0]?.offset, 0n, 'nothing was committed, so the partition starts over')
    } finally {
      await consumer.close()
    }
  })
})
