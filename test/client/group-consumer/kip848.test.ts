/**
 * GroupConsumer with groupProtocol 'consumer' (KIP-848) against the embedded broker.
 * Invariants: no partition has two owners at once (by the hooks), no member handles a record of a
 * partition it does not own, a member never drops to zero partitions while another joins (the
 * coordinator moves partitions one owner at a time), nothing is handled twice across graceful
 * changes, and a member whose session ended hears of it through onLost and joins again.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import { ConfigError } from '../../../src/client/errors.js'
import { GroupConsumer } from '../../../src/client/consumer/group-consumer.js'
import { Fleet, fleetsOnOneBroker } from './fleet.js'
import { produce, startTestBroker } from './helpers.js'

const PARTITIONS = 6
const PER_PARTITION = 40
const all = PARTITIONS * PER_PARTITION

describe("GroupConsumer with groupProtocol 'consumer' (KIP-848) against the embedded broker", () => {
  const { broker: started, fleet } = fleetsOnOneBroker(PARTITIONS, PER_PARTITION)

  it('members split the topic incrementally, never dropping to zero, and a graceful leave hands over at the commit: nothing handled twice', async () => {
    const f = await fleet('kip848-split')
    const opts = { groupProtocol: 'consumer' as const, commitOnRevoke: true }
    const a = f.start('a', opts)
    await f.condition.until(() => f.stable(a) && f.owned(a).length === PARTITIONS, 'a owns every partition')
    let aAtZero = false
    const unlisten = a.consumer.onStateChange(() => void (aAtZero ||= f.owned(a).length === 0))
    const b = f.start('b', opts)
    await f.condition.until(() => f.stable(a, b) && f.owned(a).length === 3 && f.owned(b).length === 3, 'a and b split the topic')
    const c = f.start('c', opts)
    await f.condition.until(() => f.stable(a, b, c) && [a, b, c].every((m) => f.owned(m).length === 2), 'a, b and c own two each')
    unlisten()
    assert.equal(aAtZero, false, 'a kept partitions while others joined')
    assert.ok(a.hooks.every((h) => !h.startsWith('lost')), `no loss on graceful joins: ${a.hooks.join(' ')}`)
    await f.condition.until(() => f.handledCount() === all, 'everything written so far is handled')
    await f.close(c)
    await f.condition.until(() => f.stable(a, b) && f.owned(a).length + f.owned(b).length === PARTITIONS, 'a and b take c back')
    await produce(started().bootstrap, f.topic, PARTITIONS, PER_PARTITION, PER_PARTITION)
    await f.condition.until(() => f.handledCount() === 2 * all, 'the new records are handled')
    await f.closeAll()
    assert.deepEqual(f.violations, [])
    assert.deepEqual(f.tally(PARTITIONS, 2 * PER_PARTITION), { duplicates: [], missing: [] })
    // Commits carry the member epoch: the group has the last offsets of every partition.
    const committed = await f.committed()
    assert.deepEqual([...committed.values()], Array.from({ length: PARTITIONS }, () => BigInt(2 * PER_PARTITION)))
  })

  it('a crashed member is removed after its session; its partitions go to the others, from its last commit', async () => {
    const f = await fleet('kip848-crash')
    const opts = { groupProtocol: 'consumer' as const, commitOnRevoke: true }
    const a = f.start('a', opts)
    const b = f.start('b', opts)
    await f.condition.until(() => f.stable(a, b) && f.owned(a).length === 3 && f.owned(b).length === 3, 'a and b split the topic')
    await f.condition.until(() => f.handledCount() === all, 'everything is handled')
    f.crash(b)
    await f.condition.until(() => f.stable(a) && f.owned(a).length === PARTITIONS, 'a takes over after b\'s session expires')
    assert.deepEqual(f.violations, [])
  })

  it('a member whose session the coordinator ended calls onLost, then joins again', async () => {
    const f = await fleet('kip848-lost')
    const opts = { groupProtocol: 'consumer' as const, commitOnRevoke: true }
    const a = f.start('a', opts)
    const b = f.start('b', opts)
    await f.condition.until(() => f.stable(a, b) && f.owned(a).length === 3 && f.owned(b).length === 3, 'a and b split the topic')
    b.consumer.stall()
    await f.condition.until(() => b.hooks.some((h) => h.startsWith('lost:')), 'b calls onLost')
    b.consumer.unstall()
    await f.condition.until(() => f.stable(a, b) && f.owned(a).length === 3 && f.owned(b).length === 3, 'b is back with its share')
    assert.deepEqual(f.violations, [])
  })

  it('refuses options of the other protocol with a ConfigError naming them', () => {
    assert.throws(() => new GroupConsumer({ bootstrapServers: started().bootstrap, groupId: 'x', groupProtocol: 'consumer', assignors: ['range'] }), (e: unknown) => e instanceof ConfigError && /serverAssignor/.test(e.message))
    assert.throws(() => new GroupConsumer({ bootstrapServers: started().bootstrap, groupId: 'x', serverAssignor: 'range' }), ConfigError)
  })
})

describe("KIP-848 hand-off: onRevoke is awaited before the coordinator hands the partitions on", () => {
  let broker: EmbeddedBroker
  before(async () => {
    broker = await startTestBroker()
  })
  after(async () => {
    await broker.stop()
  })

  it('the joiner gets nothing while the owner\'s onRevoke runs, then what it committed there', async () => {
    const topic = 'kip848-gate'
    broker.createTopic(topic, { partitions: 2 })
    await produce(broker.bootstrap, topic, 2, 10)
    const f = new Fleet(broker, topic, `${topic}-group`)
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    let revoking = false
    const a = f.start('a', {
      groupProtocol: 'consumer',
      commitOnRevoke: true,
      beforeRevoke: async () => {
        revoking = true
        await gate
      },
    })
    try {
      await f.condition.until(() => f.stable(a) && f.owned(a).length === 2 && f.handledCount() === 20, 'a owns both partitions and read everything')
      const b = f.start('b', { groupProtocol: 'consumer' })
      await f.condition.until(() => revoking, "a's onRevoke starts")
      const beats = b.consumer.heartbeats
      await f.condition.until(() => b.consumer.heartbeats >= beats + 5, 'b heartbeats five more times')
      assert.deepEqual(f.owned(b), [], 'b owns nothing while a is still revoking')
      release()
      await f.condition.until(() => f.owned(b).length === 1 && f.owned(a).length === 1, 'b gets its partition once a has revoked')
      const committed = await f.committed()
      assert.deepEqual([committed.get(0), committed.get(1)], [10n, 10n], "a's commit in onRevoke, under its member epoch, was stored")
      assert.deepEqual(f.violations, [])
      assert.deepEqual(f.tally(2, 10), { duplicates: [], missing: [] })
    } finally {
      release()
      await f.closeAll()
    }
  })
})
