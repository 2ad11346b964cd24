/**
 * Invariant: `app.consume(/pattern/)` consumes every topic whose name matches, those created later
 * included, routes a topic named in its own `consume()` to that handler, and never consumes the
 * app's dead-letter topics even when the pattern matches them.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import { baton } from '../../../src/processing/app.js'
import { ConfigError } from '../../../src/processing/errors.js'
import { silentLogger } from '../../../src/processing/logger.js'
import { Condition, kafkaTimings, produce, startTestBroker } from '../../client/group-consumer/helpers.js'

describe('pattern subscriptions in consume()', () => {
  let broker: EmbeddedBroker
  before(async () => {
    broker = await startTestBroker()
  })
  after(async () => {
    await broker.stop()
  })

  it('consumes every matching topic, later ones included, but not a named route’s topic nor a dead-letter topic', async () => {
    for (const topic of ['events-a', 'events-named', 'events.DLT']) broker.createTopic(topic, { partitions: 1 })
    await produce(broker.bootstrap, 'events-a', 1, 2)
    await produce(broker.bootstrap, 'events-named', 1, 2)
    await produce(broker.bootstrap, 'events.DLT', 1, 2)
    const condition = new Condition()
    const byPattern: string[] = []
    const byName: string[] = []
    const app = baton({
      brokers: broker.bootstrap,
      groupId: 'pattern-group',
      logger: silentLogger,
      signals: false,
      rebalanceTimeoutMs: 5000,
      kafka: { ...kafkaTimings(), metadataMaxAgeMs: 500 },
    })
    const note = (into: string[]) => (record: { topic: string; offset: bigint }) => {
      into.push(`${record.topic}@${record.offset}`)
      condition.poke()
      return Promise.resolve()
    }
    app.consume(/^events/, note(byPattern), { deadLetter: 'events.DLT' })
    app.consume('events-named', note(byName), { deadLetter: false })
    try {
      await app.start()
      await condition.until(() => byPattern.length === 2 && byName.length === 2, 'the existing topics')
      broker.createTopic('events-b', { partitions: 1 })
      await produce(broker.bootstrap, 'events-b', 1, 1)
      await condition.until(() => byPattern.length === 3, 'the topic created after the start')
      assert.deepEqual(byPattern.sort(), ['events-a@0', 'events-a@1', 'events-b@0'])
      assert.deepEqual(byName.sort(), ['events-named@0', 'events-named@1'])
    } finally {
      await app.stop()
    }
  })

  it('asks a pattern route for its dead-letter topic by name, and refuses flags', () => {
    const app = baton({ brokers: broker.bootstrap, groupId: 'g', logger: silentLogger, signals: false })
    assert.throws(() => app.consume(/^x/, () => Promise.resolve()), (e: unknown) => e instanceof ConfigError && e.option === 'consume(/^x/).deadLetter')
    assert.throws(() => app.consume(/^x/i, () => Promise.resolve(), { deadLetter: false }), (e: unknown) => e instanceof ConfigError && /flags/.test(e.message))
  })
})
