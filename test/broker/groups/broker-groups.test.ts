/**
 * The group APIs over real sockets against the embedded broker: coordinator lookup and routing,
 * a group's life from join to deletion, offsets, and older API versions.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { coordinatorNodeFor } from '../../../src/broker/groups/placement.js'
import { KafkaErrorCode as E } from '../../../src/protocol/errors/kafka-errors.js'
import {
  ApiVersions,
  DeleteGroups,
  DescribeGroups,
  FindCoordinator,
  Heartbeat,
  JoinGroup,
  LeaveGroup,
  ListGroups,
  OffsetCommit,
  OffsetDelete,
  OffsetFetch,
  SyncGroup,
} from '../../../src/protocol/generated/index.js'
import { TestConnection, within } from '../helpers/connection.js'
import { subscription } from './helpers/harness.js'
import { joinNew, joinOnce, syncAs } from './helpers/wire.js'

/** A group id coordinated by `node` in a cluster of `nodes`. */
function groupOn(node: number, nodes: number, prefix: string): string {
  for (let i = 0; ; i++) if (coordinatorNodeFor(`${prefix}-${i}`, 50, nodes) === node) return `${prefix}-${i}`
}

describe('group coordinator over the wire (1 node)', () => {
  let broker: EmbeddedBroker
  let conn: TestConnection

  before(async () => {
    broker = await startBroker()
    broker.createTopic('t', { partitions: 2 })
    broker.createTopic('other', { partitions: 1 })
    conn = await TestConnection.open(broker.bootstrap[0]!)
  })
  after(async () => {
    await conn.close()
    await broker.stop()
  })

  it('advertises the group APIs', async () => {
    const response = await conn.request(ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' })
    const range = (key: number) => {
      const found = response.apiKeys.find((k) => k.apiKey === key)
      return found === undefined ? undefined : [found.minVersion, found.maxVersion]
    }
    assert.deepEqual(range(JoinGroup.apiKey), [0, 9])
    assert.deepEqual(range(SyncGroup.apiKey), [0, 5])
    assert.deepEqual(range(Heartbeat.apiKey), [0, 4])
    assert.deepEqual(range(OffsetFetch.apiKey), [1, 9])
    assert.deepEqual(range(FindCoordinator.apiKey), [0, 6])
    assert.deepEqual(range(OffsetDelete.apiKey), [0, 0])
  })

  it('runs a group from its first join to its deletion', async () => {
    const groupId = 'life'
    const found = await conn.request(FindCoordinator, 3, { key: groupId, keyType: 0 })
    assert.deepEqual([found.errorCode, found.nodeId, found.port], [E.NONE, 0, broker.nodes[0]!.port])

    const joined = await joinNew(conn, { groupId })
    assert.equal(joined.errorCode, E.NONE)
    assert.equal(joined.leader, joined.memberId)
    assert.equal(joined.protocolName, 'range')
    const synced = await syncAs(conn, groupId, joined, [{ memberId: joined.memberId, assignment: Buffer.from('mine') }])
    assert.equal(synced.errorCode, E.NONE)
    assert.equal(synced.assignment.toString(), 'mine')
    const member = { groupId, generationId: joined.generationId, memberId: joined.memberId }
    assert.equal((await conn.request(Heartbeat, 4, member)).errorCode, E.NONE)

    const commit = await conn.request(OffsetCommit, 8, {
      ...member,
      generationIdOrMemberEpoch: joined.generationId,
      topics: [
        { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5n, committedMetadata: 'm' }] },
        { name: 'missing', partitions: [{ partitionIndex: 0, committedOffset: 1n }] },
      ],
    })
    assert.deepEqual(
      commit.topics.map((t) => [t.name, t.partitions[0]?.errorCode]),
      [
        ['t', E.NONE],
        ['missing', E.UNKNOWN_TOPIC_OR_PARTITION],
      ],
    )

    const described = await conn.request(DescribeGroups, 5, { groups: [groupId, 'nobody'], includeAuthorizedOperations: false })
    assert.deepEqual(
      described.groups.map((g) => [g.groupId, g.groupState, g.protocolType, g.protocolData, g.members.length]),
      [
        [groupId, 'Stable', 'consumer', 'range', 1],
        ['nobody', 'Dead', '', '', 0],
      ],
    )
    assert.equal(described.groups[0]?.members[0]?.memberAssignment.toString(), 'mine')
    assert.equal(described.groups[0]?.members[0]?.clientId, 'baton-test')

    const stable = await conn.request(ListGroups, 5, { statesFilter: ['stable'] })
    assert.ok(stable.groups.some((g) => g.groupId === groupId && g.groupState === 'Stable' && g.groupType === 'classic'))
    assert.equal((await conn.request(ListGroups, 5, { statesFilter: ['Empty'] })).groups.some((g) => g.groupId === groupId), false)

    const refused = await conn.request(DeleteGroups, 2, { groupsNames: [groupId] })
    assert.equal(refused.results[0]?.errorCode, E.NON_EMPTY_GROUP)
    const subscribed = await conn.request(OffsetDelete, 0, { groupId, topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] })
    assert.equal(subscribed.topics[0]?.partitions[0]?.errorCode, E.GROUP_SUBSCRIBED_TO_TOPIC)

    const left = await conn.request(LeaveGroup, 5, { groupId, members: [{ memberId: joined.memberId }] })
    assert.deepEqual([left.errorCode, left.members[0]?.errorCode], [E.NONE, E.NONE])
    const fetched = await conn.request(OffsetFetch, 8, { groups: [{ groupId, topics: [{ name: 't', partitionIndexes: [0, 1] }] }] })
    assert.deepEqual(
      fetched.groups[0]?.topics[0]?.partitions.map((p) => [p.committedOffset, p.metadata]),
      [
        [5n, 'm'],
        [-1n, ''],
      ],
    )
    const deleted = await conn.request(DeleteGroups, 2, { groupsNames: [groupId, groupId] })
    assert.deepEqual(
      deleted.results.map((r) => r.errorCode),
      [E.NONE, E.GROUP_ID_NOT_FOUND],
    )
    const gone = await conn.request(OffsetFetch, 8, { groups: [{ groupId, topics: null }] })
    assert.deepEqual(gone.groups[0]?.topics, [])
  })

  it('holds a JoinGroup until every member has rejoined, and tells the others to rejoin through heartbeats', async () => {
    const groupId = 'pair'
    const other = await TestConnection.open(broker.bootstrap[0]!)
    try {
      const first = await joinNew(conn, { groupId })
      await syncAs(conn, groupId, first, [{ memberId: first.memberId, assignment: Buffer.from('all') }])
      const secondJoin = joinNew(other, { groupId })
      const beat = async () => (await conn.request(Heartbeat, 4, { groupId, generationId: first.generationId, memberId: first.memberId })).errorCode
      // The second member's join puts the group into a rebalance; the first hears it on its next heartbeat.
      let code = await beat()
      for (let i = 0; code === E.NONE && i < 100; i++) code = await beat()
      assert.equal(code, E.REBALANCE_IN_PROGRESS)
      // Eager revoke: before rejoining, the member commits what it finished, with its generation.
      const onRevoke = await conn.request(OffsetCommit, 8, {
        groupId,
        generationIdOrMemberEpoch: first.generationId,
        memberId: first.memberId,
        topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: 3n }] }],
      })
      assert.equal(onRevoke.topics[0]?.partitions[0]?.errorCode, E.NONE)
      const [rejoined, second] = await within(Promise.all([joinOnce(conn, { groupId, memberId: first.memberId }), secondJoin]), 5000, 'both joins')
      assert.equal(rejoined.generationId, first.generationId + 1)
      assert.equal(second.generationId, rejoined.generationId)
      assert.equal(rejoined.members.length, 2)
      assert.equal(second.members.length, 0)
      const [a, b] = await Promise.all([
        syncAs(conn, groupId, rejoined, [
          { memberId: rejoined.memberId, assignment: Buffer.from('p0') },
          { memberId: second.memberId, assignment: Buffer.from('p1') },
        ]),
        syncAs(other, groupId, second),
      ])
      assert.deepEqual([a.assignment.toString(), b.assignment.toString()], ['p0', 'p1'])
      const stale = await conn.request(OffsetCommit, 8, {
        groupId,
        generationIdOrMemberEpoch: first.generationId,
        memberId: first.memberId,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }],
      })
      assert.equal(stale.topics[0]?.partitions[0]?.errorCode, E.ILLEGAL_GENERATION)
    } finally {
      await other.close()
    }
  })

  it('serves the oldest versions of the membership APIs', async () => {
    const groupId = 'old-timer'
    const joined = await conn.request(JoinGroup, 0, { groupId, sessionTimeoutMs: 10_000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'range', metadata: subscription(['t']) }] })
    assert.equal(joined.errorCode, E.NONE, 'v0-3 join without the member id round trip')
    const synced = await conn.request(SyncGroup, 0, { groupId, generationId: joined.generationId, memberId: joined.memberId, assignments: [{ memberId: joined.memberId, assignment: Buffer.from('x') }] })
    assert.equal(synced.assignment.toString(), 'x')
    const commit = await conn.request(OffsetCommit, 2, {
      groupId,
      generationIdOrMemberEpoch: joined.generationId,
      memberId: joined.memberId,
      topics: [{ name: 'other', partitions: [{ partitionIndex: 0, committedOffset: 9n }] }],
    })
    assert.equal(commit.topics[0]?.partitions[0]?.errorCode, E.NONE)
    const fetched = await conn.request(OffsetFetch, 1, { groupId, topics: [{ name: 'other', partitionIndexes: [0] }] })
    assert.equal(fetched.topics[0]?.partitions[0]?.committedOffset, 9n)
    const left = await conn.request(LeaveGroup, 0, { groupId, memberId: joined.memberId })
    assert.equal(left.errorCode, E.NONE)
    const again = await conn.request(LeaveGroup, 0, { groupId, memberId: joined.memberId })
    assert.equal(again.errorCode, E.UNKNOWN_MEMBER_ID)
  })
})

describe('group coordinator routing (3 nodes)', () => {
  let broker: EmbeddedBroker
  const conns: TestConnection[] = []

  before(async () => {
    broker = await startBroker({ nodes: 3 })
    for (const address of broker.bootstrap) conns.push(await TestConnection.open(address))
  })
  after(async () => {
    await Promise.all(conns.map((c) => c.close()))
    await broker.stop()
  })

  it('spreads groups over the nodes and answers NOT_COORDINATOR on the others', async () => {
    const groups = [0, 1, 2].map((node) => groupOn(node, 3, 'routed'))
    const batch = await conns[0]!.request(FindCoordinator, 4, { keyType: 0, coordinatorKeys: groups })
    assert.deepEqual(
      batch.coordinators.map((c) => [c.key, c.nodeId, c.port, c.errorCode]),
      groups.map((g, node) => [g, node, broker.nodes[node]!.port, E.NONE]),
    )
    for (const [node, groupId] of groups.entries()) {
      const wrong = conns[(node + 1) % 3]!
      assert.equal((await joinOnce(wrong, { groupId })).errorCode, E.NOT_COORDINATOR)
      assert.equal((await wrong.request(Heartbeat, 4, { groupId, generationId: 1, memberId: 'm' })).errorCode, E.NOT_COORDINATOR)
      const joined = await joinNew(conns[node]!, { groupId })
      assert.equal(joined.errorCode, E.NONE)
    }
    const listed = await Promise.all(conns.map((c) => c.request(ListGroups, 4, {})))
    assert.deepEqual(
      listed.map((l) => l.groups.map((g) => g.groupId)),
      groups.map((g) => [g]),
    )
    const single = await conns[2]!.request(FindCoordinator, 2, { key: groups[1]!, keyType: 0 })
    assert.equal(single.nodeId, 1)
    const badType = await conns[0]!.request(FindCoordinator, 4, { keyType: 2, coordinatorKeys: ['x'] })
    assert.equal(badType.coordinators[0]?.errorCode, E.INVALID_REQUEST)
  })
})

describe('group coordinator shutdown', () => {
  it('answers a JoinGroup still waiting when the broker stops, instead of leaving it hanging', async () => {
    const broker = await startBroker()
    const a = await TestConnection.open(broker.bootstrap[0]!)
    const b = await TestConnection.open(broker.bootstrap[0]!)
    try {
      const first = await joinNew(a, { groupId: 'stopping' })
      await syncAs(a, 'stopping', first)
      // b's join waits for a to rejoin, which it never does.
      const waiting = joinNew(b, { groupId: 'stopping' }).then(
        (response) => response.errorCode,
        () => 'connection closed',
      )
      let code = E.NONE as number
      for (let i = 0; code === E.NONE && i < 100; i++) code = (await a.request(Heartbeat, 4, { groupId: 'stopping', generationId: first.generationId, memberId: first.memberId })).errorCode
      assert.equal(code, E.REBALANCE_IN_PROGRESS)
      await broker.stop()
      const outcome = await within(waiting, 2000, 'the waiting join settles')
      assert.ok(outcome === E.NOT_COORDINATOR || outcome === 'connection closed', `got ${outcome}`)
    } finally {
      await a.close()
      await b.close()
      await broker.stop()
    }
  })
})

describe('injected faults on the group APIs', () => {
  let broker: EmbeddedBroker
  let conn: TestConnection

  before(async () => {
    broker = await startBroker()
    conn = await TestConnection.open(broker.bootstrap[0]!)
  })
  after(async () => {
    await conn.close()
    await broker.stop()
  })

  it('answers with the injected error at the oldest and newest version of every group API', async () => {
    const code = E.COORDINATOR_LOAD_IN_PROGRESS
    const member = { groupId: 'f', generationId: 1, memberId: 'm' }
    for (const version of [0, 9]) {
      broker.faults.failNext(JoinGroup, code)
      const join = await conn.request(JoinGroup, version, { ...member, sessionTimeoutMs: 10_000, protocolType: 'consumer', protocols: [] })
      assert.equal(join.errorCode, code)
    }
    for (const version of [0, 5]) {
      broker.faults.failNext(SyncGroup, code)
      assert.equal((await conn.request(SyncGroup, version, { ...member, assignments: [] })).errorCode, code)
      broker.faults.failNext(LeaveGroup, code)
      assert.equal((await conn.request(LeaveGroup, version, version >= 3 ? { groupId: 'f', members: [{ memberId: 'm' }] } : { groupId: 'f', memberId: 'm' })).errorCode, code)
      broker.faults.failNext(DescribeGroups, code)
      assert.equal((await conn.request(DescribeGroups, version, { groups: ['f'] })).groups[0]?.errorCode, code)
      broker.faults.failNext(ListGroups, code)
      assert.equal((await conn.request(ListGroups, version, {})).errorCode, code)
    }
    for (const version of [0, 4]) {
      broker.faults.failNext(Heartbeat, code)
      assert.equal((await conn.request(Heartbeat, version, member)).errorCode, code)
    }
    for (const version of [0, 3, 4, 6]) {
      broker.faults.failNext(FindCoordinator, code)
      const found = await conn.request(FindCoordinator, version, version >= 4 ? { coordinatorKeys: ['f'] } : { key: 'f' })
      assert.equal(version >= 4 ? found.coordinators[0]?.errorCode : found.errorCode, code)
    }
    for (const version of [0, 9]) {
      broker.faults.failNext(OffsetCommit, code)
      const committed = await conn.request(OffsetCommit, version, { groupId: 'f', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1n }] }] })
      assert.equal(committed.topics[0]?.partitions[0]?.errorCode, code)
    }
    for (const version of [2, 8]) {
      broker.faults.failNext(OffsetFetch, code)
      const fetched = await conn.request(OffsetFetch, version, version >= 8 ? { groups: [{ groupId: 'f', topics: [] }] } : { groupId: 'f', topics: [] })
      assert.equal(version >= 8 ? fetched.groups[0]?.errorCode : fetched.errorCode, code)
    }
    broker.faults.failNext(DeleteGroups, code)
    assert.equal((await conn.request(DeleteGroups, 2, { groupsNames: ['f'] })).results[0]?.errorCode, code)
    broker.faults.failNext(OffsetDelete, code)
    assert.equal((await conn.request(OffsetDelete, 0, { groupId: 'f', topics: [] })).errorCode, code)
    assert.equal(conn.isClosed, false)
  })
})
