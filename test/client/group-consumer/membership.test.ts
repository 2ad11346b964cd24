/**
 * GroupConsumer against the embedded broker, one rebalance path per test.
 * Invariants checked in every test: no partition has two owners at once (by the hooks), no member
 * is handed a record of a partition it does not own, every record written is handled, and a
 * record is handled twice only after a crash (by the next owner, from the crashed member's last
 * commit). The committed offset after each path is where the next owner must resume.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { GroupConsumer, PartitionNotOwnedError } from '../../../src/client/consumer/group-consumer.js'
import { CommitFailedError, MembershipError } from '../../../src/client/membership/errors.js'
import { Fleet, fleetsOnOneBroker } from './fleet.js'
import { Condition, groupTimings, produce, startTestBroker, WAIT_MS } from './helpers.js'

const PARTITIONS = 6
const PER_PARTITION = 40

describe('GroupConsumer against the embedded broker', () => {
  const { broker: started, fleet } = fleetsOnOneBroker(PARTITIONS, PER_PARTITION)

  const all = PARTITIONS * PER_PARTITION

  it('cooperative-sticky (default): members split the topic; a joiner only takes partitions the others revoke; a clean leave hands over at the commit', async () => {
    const f = await fleet('coop')
    const a = f.start('a', { commitOnRevoke: true })
    const b = f.start('b', { commitOnRevoke: true })
    await f.condition.until(() => f.stable(a, b) && f.owned(a).length === 3 && f.owned(b).length === 3, 'a and b split the topic')
    await f.condition.until(() => f.handledCount() === all, 'everything written so far is handled')
    const generation = a.consumer.generationId
    const c = f.start('c', { commitOnRevoke: true })
    await f.condition.until(() => f.stable(a, b, c) && f.owned(c).length === 2 && f.owned(a).length === 2 && f.owned(b).length === 2, 'c takes 2')
    assert.ok(a.consumer.generationId > generation)
    // KIP-429: the first phase revoked only what moved; nobody revoked everything.
    for (const m of [a, b]) {
      const revokes = m.hooks.filter((h) => h.startsWith('revoke:'))
      assert.ok(revokes.every((h) => h.split(':')[1]!.split(',').length <= 1), `${m.name} revoked one partition at most: ${revokes.join(' ')}`)
    }
    await produce(started().bootstrap, f.topic, PARTITIONS, PER_PARTITION, PER_PARTITION)
    await f.condition.until(() => f.handledCount() === 2 * all, 'the new records are handled')
    await f.close(c)
    await f.condition.until(() => f.stable(a, b) && f.owned(a).length + f.owned(b).length === PARTITIONS, 'a and b take c back')
    await produce(started().bootstrap, f.topic, PARTITIONS, 10, 2 * PER_PARTITION)
    await f.condition.until(() => f.handledCount() === 2 * all + PARTITIONS * 10, 'records after the leave are handled')
    await f.closeAll()
    const { duplicates, missing } = f.tally(PARTITIONS, 2 * PER_PARTITION + 10)
    assert.deepEqual(missing, [])
    assert.deepEqual(duplicates, [], 'graceful changes repeat nothing')
    assert.deepEqual(f.violations, [])
    const committed = await f.committed()
    for (let p = 0; p < PARTITIONS; p++) assert.equal(committed.get(p), BigInt(2 * PER_PARTITION + 10), `partition ${p} committed to its end`)
  })

  it('eager (range): every rebalance revokes everything first, committed in onRevoke; a leave hands over at the commit', async () => {
    const f = await fleet('eager')
    const a = f.start('a', { assignors: ['range'], commitOnRevoke: true })
    await f.condition.until(() => f.stable(a) && f.owned(a).length === PARTITIONS, 'a owns everything')
    const b = f.start('b', { assignors: ['range'], commitOnRevoke: true })
    await f.condition.until(() => f.stable(a, b) && f.owned(a).length === 3 && f.owned(b).length === 3, 'a and b split the topic')
    assert.ok(a.hooks.includes('revoke:0,1,2,3,4,5'), `eager revokes all: ${a.hooks.join(' ')}`)
    await f.condition.until(() => f.handledCount() === all, 'everything is handled')
    await f.close(a)
    await f.condition.until(() => f.stable(b) && f.owned(b).length === PARTITIONS, 'b takes over')
    await produce(started().bootstrap, f.topic, PARTITIONS, 5, PER_PARTITION)
    await f.condition.until(() => f.handledCount() === all + PARTITIONS * 5, 'records after the leave are handled')
    await f.closeAll()
    const { duplicates, missing } = f.tally(PARTITIONS, PER_PARTITION + 5)
    assert.deepEqual(missing, [])
    assert.deepEqual(duplicates, [])
    assert.deepEqual(f.violations, [])
    const committed = await f.committed()
    for (let p = 0; p < PARTITIONS; p++) assert.equal(committed.get(p), BigInt(PER_PARTITION + 5))
  })

  it('a member that crashes (no LeaveGroup) loses its partitions after the session timeout; the next owner resumes at its last commit', async () => {
    const f = await fleet('crash')
    const a = f.start('a')
    const b = f.start('b')
    await f.condition.until(() => f.stable(a, b) && f.owned(a).length === 3 && f.owned(b).length === 3, 'a and b split the topic')
    await f.condition.until(() => f.handledCount() === all, 'everything is handled')
    const crashed = f.owned(a)
    const committedBefore = await f.committed()
    f.crash(a)
    await produce(started().bootstrap, f.topic, PARTITIONS, 5, PER_PARTITION)
    await f.condition.until(() => f.stable(b) && f.owned(b).length === PARTITIONS, 'b takes over after the session timeout')
    await f.condition.until(() => f.handledCount() === all + PARTITIONS * 5, 'records after the crash are handled')
    await f.closeAll()
    const { duplicates, missing } = f.tally(PARTITIONS, PER_PARTITION + 5)
    assert.deepEqual(missing, [])
    // Anything a handled after its last commit is handled again by b; nothing else is.
    for (const key of duplicates) {
      const [p, o] = key.split(':').map(Number) as [number, number]
      assert.ok(crashed.includes(p), `${key} repeated on a partition a did not own`)
      assert.ok(BigInt(o) >= (committedBefore.get(p) ?? 0n), `${key} repeated below a's last commit`)
    }
    assert.deepEqual(f.violations, [])
    assert.equal(a.hooks.filter((h) => h.startsWith('revoke')).length, 0, 'a crashed member runs no revoke hook')
  })

  it('a member stalled past the session timeout gives its partitions up through onLost (its commit refused), then rejoins', async () => {
    const f = await fleet('stall')
    const a = f.start('a')
    const b = f.start('b')
    await f.condition.until(() => f.stable(a, b) && f.owned(a).length === 3 && f.owned(b).length === 3, 'a and b split the topic')
    await f.condition.until(() => f.handledCount() === all, 'everything is handled')
    a.consumer.stall()
    await f.condition.until(() => a.hooks.some((h) => h.startsWith('lost:')), 'a notices its session is gone')
    await f.condition.until(() => f.stable(b) && f.owned(b).length === PARTITIONS, 'b takes everything')
    a.consumer.unstall()
    await f.condition.until(() => f.stable(a, b) && f.owned(a).length === 3 && f.owned(b).length === 3, 'a rejoins and gets its share back')
    await produce(started().bootstrap, f.topic, PARTITIONS, 5, PER_PARTITION)
    await f.condition.until(() => f.handledCount() === all + PARTITIONS * 5, 'new records are handled')
    await f.closeAll()
    const { duplicates, missing } = f.tally(PARTITIONS, PER_PARTITION + 5)
    assert.deepEqual(missing, [])
    assert.deepEqual(duplicates, [], 'a had committed all it handled before it stalled')
    assert.deepEqual(f.violations, [], 'a gave its partitions up before b was given them, and never committed for them')
  })

  it('a static member restarted within the session timeout gets its partitions back without a rebalance (KIP-345)', async () => {
    const f = await fleet('static')
    const a = f.start('a', { groupInstanceId: 'instance-a', sessionTimeoutMs: 10_000 })
    const b = f.start('b', { groupInstanceId: 'instance-b', sessionTimeoutMs: 10_000 })
    await f.condition.until(() => f.stable(a, b) && f.owned(a).length === 3 && f.owned(b).length === 3, 'a and b split the topic')
    await f.condition.until(() => f.handledCount() === all, 'everything is handled')
    const before = f.owned(a)
    const generation = b.consumer.generationId
    await f.close(a)
    // A static member sends no LeaveGroup: the coordinator keeps its partitions for it.
    for (const p of before) f.owners.delete(p)
    const again = f.start('a', { groupInstanceId: 'instance-a', sessionTimeoutMs: 10_000 })
    await f.condition.until(() => f.stable(again) && f.owned(again).length === 3, 'the restarted member is assigned')
    assert.deepEqual(f.owned(again), before)
    assert.equal(b.consumer.generationId, generation, 'b saw no rebalance')
    assert.equal(b.hooks.filter((h) => h.startsWith('revoke')).length, 0)
    await f.closeAll()
    assert.deepEqual(f.tally(PARTITIONS, PER_PARTITION).duplicates, [])
    assert.deepEqual(f.violations, [])
  })

  it('with 3 broker nodes (coordinator and partition leaders spread out), members split the topic and hand over on a leave', async () => {
    const cluster = await startTestBroker(3)
    try {
      cluster.createTopic('spread', { partitions: PARTITIONS })
      await produce(cluster.bootstrap, 'spread', PARTITIONS, PER_PARTITION)
      const f = new Fleet(cluster, 'spread', 'spread-group')
      const a = f.start('a', { commitOnRevoke: true })
      const b = f.start('b', { commitOnRevoke: true })
      await f.condition.until(() => f.stable(a, b) && f.owned(a).length === 3 && f.owned(b).length === 3, 'a and b split the topic')
      await f.close(b)
      await f.condition.until(() => f.stable(a) && f.owned(a).length === PARTITIONS, 'a takes over')
      await f.condition.until(() => f.handledCount() === all, 'everything handled')
      await f.closeAll()
      assert.deepEqual(f.tally(PARTITIONS, PER_PARTITION), { duplicates: [], missing: [] })
      assert.deepEqual(f.violations, [])
      assert.deepEqual([...(await f.committed()).values()], Array.from({ length: PARTITIONS }, () => BigInt(PER_PARTITION)))
    } finally {
      await cluster.stop()
    }
  })

  it('commits only for owned partitions and fails typed on a rebalance; pause holds a partition back until resume', async () => {
    started().createTopic('api', { partitions: 2 })
    await produce(started().bootstrap, 'api', 2, 3)
    const condition = new Condition()
    let assigned = 0
    const consumer = new GroupConsumer({
      bootstrapServers: started().bootstrap,
      groupId: 'api-group',
      autoOffsetReset: 'earliest',
      ...groupTimings(),
      hooks: { onAssign: () => void (assigned++, condition.poke()) },
    })
    try {
      consumer.subscribe(/^ap[i]$/)
      await condition.until(() => consumer.state === 'stable' && consumer.assignment().length === 2, 'the pattern subscription is assigned')
      assert.equal(assigned, 1)
      await assert.rejects(consumer.commit([{ topic: 'api', partition: 7, offset: 1n }]), PartitionNotOwnedError)
      consumer.pause([{ topic: 'api', partition: 1 }])
      const seen: string[] = []
      const iterator = consumer[Symbol.asyncIterator]()
      for (let i = 0; i < 3; i++) {
        const next = await iterator.next()
        assert.equal(next.done, false)
        seen.push(`${next.value.partition}:${next.value.offset}`)
      }
      assert.deepEqual(seen, ['0:0', '0:1', '0:2'], 'nothing of the paused partition')
      assert.deepEqual(consumer.paused(), [{ topic: 'api', partition: 1 }])
      consumer.resume([{ topic: 'api', partition: 1 }])
      const next = await iterator.next()
      assert.equal(`${next.value!.partition}:${next.value!.offset}`, '1:0')
      await consumer.commit()
      assert.equal(consumer.position({ topic: 'api', partition: 1 }), 1n)
      // Another member joining moves the group on; a commit under the old generation is refused, typed.
      const generation = consumer.generationId
      const other = new GroupConsumer({ bootstrapServers: started().bootstrap, groupId: 'api-group', ...groupTimings(), assignors: ['cooperative-sticky'] })
      try {
        other.subscribe(['api'])
        await condition.until(() => consumer.generationId > generation || consumer.state !== 'stable', 'the group starts rebalancing', WAIT_MS)
        const staleCommit = consumer.commit([{ topic: 'api', partition: 0, offset: 3n }]).then(
          () => 'stored',
          (error: unknown) => (error instanceof CommitFailedError ? error.code : error instanceof PartitionNotOwnedError ? 'not-owned' : 'other'),
        )
        // Either it went in under the generation that was still current, or it was refused as a rebalance, never silently retried.
        assert.ok(['stored', 'GROUP_COMMIT_REBALANCE', 'not-owned'].includes(await staleCommit))
      } finally {
        await other.close()
      }
    } finally {
      await consumer.close()
    }
    assert.throws(() => consumer.subscribe(['api']), MembershipError, 'a closed consumer cannot subscribe again')
  })
})
