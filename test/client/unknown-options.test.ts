/**
 * Invariant: every client refuses an option key it does not know, at construction, naming the
 * nearest known key; a misspelt option is never silently left at its default. The same holds for
 * a topic given to `Admin.createTopics`. Known keys of a wider config (a group consumer's) reach
 * the narrower client it wraps without being refused there.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Admin } from '../../src/client/admin/admin.js'
import { Consumer } from '../../src/client/consumer/consumer.js'
import { GroupConsumer } from '../../src/client/consumer/group-consumer.js'
import { ConfigError } from '../../src/client/errors.js'
import { Producer } from '../../src/client/producer/producer.js'

/** Bootstrap servers that are never dialled: construction does not connect. */
const bootstrapServers = '127.0.0.1:9'

function refused(option: string, nearest: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`)
    assert.equal(error.option, option)
    assert.match(error.message, new RegExp(`did you mean ${nearest.replace(/[[\].]/g, '\\$&')}\\?`))
    return true
  }
}

describe('unknown option keys', () => {
  it('each client refuses a key it does not know and names the nearest one', () => {
    assert.throws(() => new Producer({ bootstrapServers, idempotence: true } as never), refused('idempotence', 'idempotent'))
    assert.throws(() => new Consumer({ bootstrapServers, fetchMaxWait: 100 } as never), refused('fetchMaxWait', 'fetchMaxWaitMs'))
    assert.throws(() => new GroupConsumer({ bootstrapServers, groupId: 'g', sessionTimeout: 10_000 } as never), refused('sessionTimeout', 'sessionTimeoutMs'))
    assert.throws(() => new Admin({ bootstrapServers, requestTimeout: 1000 } as never), refused('requestTimeout', 'requestTimeoutMs'))
  })

  it('a group consumer hands its consumer options on to the consumer it wraps', async () => {
    const consumer = new GroupConsumer({ bootstrapServers, groupId: 'g', fetchMaxWaitMs: 50, sessionTimeoutMs: 10_000, checkCrcs: false })
    await consumer.close()
  })

  it('createTopics refuses a topic with an unknown key before sending anything', async () => {
    const admin = new Admin({ bootstrapServers })
    try {
      await assert.rejects(admin.createTopics([{ name: 't', numPartitions: 3 } as never]), refused('topics[0].numPartitions', 'topics[0].partitions'))
    } finally {
      await admin.close()
    }
  })
})
