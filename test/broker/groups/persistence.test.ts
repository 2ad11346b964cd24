/**
 * Invariant: with a data directory, committed offsets and group metadata survive a restart, the way
 * Kafka's __consumer_offsets is replayed when a coordinator loads; deleted groups and offsets stay
 * deleted, and a torn last record costs only that record.
 */
import assert from 'node:assert/strict'
import { appendFileSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { GroupCoordinator } from '../../../src/broker/groups/coordinator.js'
import { FileGroupStore } from '../../../src/broker/groups/file-store.js'
import { startBroker } from '../../../src/broker/index.js'
import { silentLogger } from '../../../src/broker/options.js'
import { KafkaErrorCode as E } from '../../../src/protocol/errors/kafka-errors.js'
import { DeleteGroups, DescribeGroups, Heartbeat, OffsetCommit, OffsetFetch } from '../../../src/protocol/generated/index.js'
import { TestConnection } from '../helpers/connection.js'
import { harness, stableGroup } from './helpers/harness.js'
import { joinNew, syncAs } from './helpers/wire.js'
import { tempDirPerTest } from '../../helpers/temp-dir.js'

describe('group state on disk', () => {
  const dir = tempDirPerTest('baton-groups-')

  it('brings offsets and a stable group back after a broker restart', async () => {
    let broker = await startBroker({ dataDir: dir() })
    broker.createTopic('t', { partitions: 1 })
    let conn = await TestConnection.open(broker.bootstrap[0]!)
    const joined = await joinNew(conn, { groupId: 'kept', sessionTimeoutMs: 30_000 })
    await syncAs(conn, 'kept', joined, [{ memberId: joined.memberId, assignment: Buffer.from('t-0') }])
    const commit = (groupId: string, generationIdOrMemberEpoch: number, memberId: string, offset: bigint) =>
      conn.request(OffsetCommit, 8, { groupId, generationIdOrMemberEpoch, memberId, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: offset, committedMetadata: 'md' }] }] })
    assert.equal((await commit('kept', joined.generationId, joined.memberId, 41n)).topics[0]?.partitions[0]?.errorCode, E.NONE)
    assert.equal((await commit('kept', joined.generationId, joined.memberId, 42n)).topics[0]?.partitions[0]?.errorCode, E.NONE)
    assert.equal((await commit('doomed', -1, '', 7n)).topics[0]?.partitions[0]?.errorCode, E.NONE)
    assert.equal((await conn.request(DeleteGroups, 2, { groupsNames: ['doomed'] })).results[0]?.errorCode, E.NONE)
    await conn.close()
    await broker.stop()

    broker = await startBroker({ dataDir: dir() })
    conn = await TestConnection.open(broker.bootstrap[0]!)
    try {
      const fetched = await conn.request(OffsetFetch, 8, { groups: [{ groupId: 'kept', topics: null }, { groupId: 'doomed', topics: null }] })
      assert.deepEqual(
        fetched.groups[0]?.topics.map((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.committedOffset, p.metadata])),
        [[['t', 0, 42n, 'md']]],
      )
      assert.deepEqual(fetched.groups[1]?.topics, [])
      const described = await conn.request(DescribeGroups, 5, { groups: ['kept'] })
      const group = described.groups[0]!
      assert.equal(group.groupState, 'Stable')
      assert.deepEqual(
        group.members.map((m) => [m.memberId, m.memberAssignment.toString()]),
        [[joined.memberId, 't-0']],
      )
      // The member carries on where it was, without rejoining.
      const beat = await conn.request(Heartbeat, 4, { groupId: 'kept', generationId: joined.generationId, memberId: joined.memberId })
      assert.equal(beat.errorCode, E.NONE)
    } finally {
      await conn.close()
      await broker.stop()
    }
  })

  it('compacts the log on open and cuts a torn last record', () => {
    const open = () => new GroupCoordinator({ initialRebalanceDelayMs: 0, store: new FileGroupStore(dir(), silentLogger) })
    const first = open()
    for (let i = 0; i < 50; i++) first.commitOffsets({ groupId: 's', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: BigInt(i), leaderEpoch: -1, metadata: null, commitTimestamp: 1 }] })
    first.close()
    const file = join(dir(), 'groups.log')
    const before = statSync(file).size
    appendFileSync(file, Buffer.from([0, 0, 0, 40, 1, 2, 3]))

    const second = open()
    assert.equal(second.fetchOffsets('s', [{ topic: 't', partitions: [0] }]).topics[0]?.partitions[0]?.offset, 49n)
    second.close()
    const after = readFileSync(file)
    assert.ok(after.length < before / 10, `the file holds the latest offset only (${after.length} of ${before} bytes)`)
  })

  it('restores a group whose members then fail to show up, and evicts them after their session', async () => {
    const { coordinator: original } = harness({ store: new FileGroupStore(dir(), silentLogger) })
    const { members, generation } = await stableGroup(original, 2)
    original.close()
    const { coordinator, clock } = harness({ store: new FileGroupStore(dir(), silentLogger) })
    try {
      assert.equal(coordinator.groupState('g'), 'Stable')
      assert.equal(coordinator.generationOf('g'), generation)
      clock.advance(9000)
      assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: members[0]!, groupInstanceId: null }), E.NONE)
      clock.advance(1000)
      assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: members[0]!, groupInstanceId: null }), E.REBALANCE_IN_PROGRESS)
      assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: members[1]!, groupInstanceId: null }), E.UNKNOWN_MEMBER_ID)
    } finally {
      coordinator.close()
    }
  })
})
