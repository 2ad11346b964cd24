/**
 * The classic group state machine on a manual clock: joins, syncs, heartbeats, leaves, and the
 * session and rebalance timeouts, with no real time passing.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { KafkaErrorCode as E } from '../../../src/protocol/errors/kafka-errors.js'
import { assertTransition, canTransition, GroupStateError, GROUP_STATES } from '../../../src/broker/groups/state.js'
import { flush, harness, joinRequest, joinWithId, protocols, REBALANCE_MS, SESSION_MS, stableGroup, track } from './helpers/harness.js'

describe('group state transitions', () => {
  it('allows exactly the transitions Kafka allows', () => {
    const allowed = GROUP_STATES.flatMap((from) => GROUP_STATES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`))
    assert.deepEqual(allowed.sort(), [
      'CompletingRebalance->Dead',
      'CompletingRebalance->PreparingRebalance',
      'CompletingRebalance->Stable',
      'Dead->Dead',
      'Empty->Dead',
      'Empty->PreparingRebalance',
      'PreparingRebalance->CompletingRebalance',
      'PreparingRebalance->Dead',
      'PreparingRebalance->Empty',
      'Stable->Dead',
      'Stable->PreparingRebalance',
    ])
  })

  it('refuses an invalid transition with a typed error', () => {
    assert.throws(
      () => assertTransition('g', 'Empty', 'Stable'),
      (error: unknown) => error instanceof GroupStateError && error.code === 'GROUP_INVALID_TRANSITION' && error.from === 'Empty' && error.to === 'Stable',
    )
  })
})

describe('JoinGroup', () => {
  it('hands a new member an id with MEMBER_ID_REQUIRED (v4+), then completes its join with it', async () => {
    const { coordinator } = harness()
    const first = await coordinator.join(joinRequest({ requireKnownMemberId: true }))
    assert.equal(first.errorCode, E.MEMBER_ID_REQUIRED)
    assert.match(first.memberId, /^client-/)
    assert.equal(coordinator.groupState('g'), 'Empty')
    const second = await coordinator.join(joinRequest({ memberId: first.memberId, requireKnownMemberId: true }))
    assert.equal(second.errorCode, E.NONE)
    assert.equal(second.memberId, first.memberId)
    assert.equal(second.generationId, 1)
    assert.equal(second.leader, first.memberId)
    assert.equal(second.protocolName, 'range')
    assert.equal(second.protocolType, 'consumer')
    assert.deepEqual(
      second.members.map((m) => m.memberId),
      [first.memberId],
    )
    assert.equal(coordinator.groupState('g'), 'CompletingRebalance')
  })

  it('gives the leader every member metadata and followers none', async () => {
    const { coordinator } = harness()
    const a = await coordinator.join(joinRequest({ protocols: [{ name: 'range', metadata: Buffer.from('A') }] }))
    const b = track(coordinator.join(joinRequest({ protocols: [{ name: 'range', metadata: Buffer.from('B') }] })))
    await flush()
    assert.equal(b.done, false, 'the join phase waits for the first member to rejoin')
    assert.equal(coordinator.groupState('g'), 'PreparingRebalance')
    const a2 = await coordinator.join(joinRequest({ memberId: a.memberId, protocols: [{ name: 'range', metadata: Buffer.from('A') }] }))
    const b2 = await b.promise
    assert.equal(a2.generationId, 2)
    assert.equal(b2.generationId, 2)
    assert.equal(a2.leader, a.memberId)
    assert.equal(b2.leader, a.memberId)
    assert.deepEqual(
      a2.members.map((m) => [m.memberId, m.metadata.toString()]),
      [
        [a.memberId, 'A'],
        [b2.memberId, 'B'],
      ],
    )
    assert.deepEqual(b2.members, [])
  })

  it('selects the protocol every member supports, by vote', async () => {
    const { coordinator } = harness()
    const a = await coordinator.join(joinRequest({ protocols: protocols('range', 'roundrobin', 'sticky') }))
    const b = coordinator.join(joinRequest({ protocols: protocols('sticky', 'range') }))
    const c = coordinator.join(joinRequest({ protocols: protocols('sticky', 'range', 'roundrobin') }))
    const a2 = coordinator.join(joinRequest({ memberId: a.memberId, protocols: protocols('range', 'roundrobin', 'sticky') }))
    const results = await Promise.all([a2, b, c])
    // range and sticky are shared by all; sticky gets two votes, range one.
    assert.deepEqual(
      results.map((r) => r.protocolName),
      ['sticky', 'sticky', 'sticky'],
    )
  })

  it('refuses a member sharing no protocol with INCONSISTENT_GROUP_PROTOCOL and leaves the group as it was', async () => {
    const { coordinator } = harness()
    const { members, generation } = await stableGroup(coordinator, 2)
    const stranger = await coordinator.join(joinRequest({ protocols: protocols('cooperative-sticky') }))
    assert.equal(stranger.errorCode, E.INCONSISTENT_GROUP_PROTOCOL)
    const otherType = await coordinator.join(joinRequest({ protocolType: 'connect', protocols: protocols('range') }))
    assert.equal(otherType.errorCode, E.INCONSISTENT_GROUP_PROTOCOL)
    const empty = await coordinator.join(joinRequest({ groupId: 'fresh', protocols: [] }))
    assert.equal(empty.errorCode, E.INCONSISTENT_GROUP_PROTOCOL)
    assert.equal(coordinator.groupState('g'), 'Stable')
    for (const memberId of members) assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId, groupInstanceId: null }), E.NONE)
  })

  it('refuses session timeouts outside the configured range and empty group ids', async () => {
    const { coordinator } = harness({ minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 60_000 })
    assert.equal((await coordinator.join(joinRequest({ sessionTimeoutMs: 5999 }))).errorCode, E.INVALID_SESSION_TIMEOUT)
    assert.equal((await coordinator.join(joinRequest({ sessionTimeoutMs: 60_001 }))).errorCode, E.INVALID_SESSION_TIMEOUT)
    assert.equal((await coordinator.join(joinRequest({ groupId: '' }))).errorCode, E.INVALID_GROUP_ID)
    assert.equal((await coordinator.join(joinRequest({ memberId: 'ghost' }))).errorCode, E.UNKNOWN_MEMBER_ID)
  })

  it('refuses members beyond group.max.size with GROUP_MAX_SIZE_REACHED', async () => {
    const { coordinator } = harness({ maxGroupSize: 2 })
    const { members, generation } = await stableGroup(coordinator, 2)
    assert.equal((await coordinator.join(joinRequest({ clientId: 'third' }))).errorCode, E.GROUP_MAX_SIZE_REACHED)
    assert.equal(coordinator.groupState('g'), 'Stable')
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: members[1]!, groupInstanceId: null }), E.NONE)
  })

  it('evicts members that do not rejoin within the rebalance timeout', async () => {
    const { coordinator, clock } = harness()
    const { members, generation } = await stableGroup(coordinator, 2)
    const [a, b] = members as [string, string]
    const c = track(coordinator.join(joinRequest({ clientId: 'late' })))
    const a2 = track(coordinator.join(joinRequest({ memberId: a })))
    // b keeps heartbeating but never rejoins; the heartbeats tell it to.
    clock.advance(SESSION_MS / 2)
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: b, groupInstanceId: null }), E.REBALANCE_IN_PROGRESS)
    await flush()
    assert.equal(a2.done, false)
    clock.advance(REBALANCE_MS)
    await flush()
    assert.equal(a2.value?.generationId, generation + 1)
    assert.deepEqual(a2.value.members.map((m) => m.memberId).sort(), [a, c.value?.memberId].sort())
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: b, groupInstanceId: null }), E.UNKNOWN_MEMBER_ID)
  })

  it('stretches the initial rebalance delay of a new group while members keep arriving', async () => {
    const { coordinator, clock } = harness({ initialRebalanceDelayMs: 3000 })
    const a = track(coordinator.join(joinRequest({ clientId: 'a' })))
    clock.advance(1000)
    const b = track(coordinator.join(joinRequest({ clientId: 'b' })))
    clock.advance(2000)
    await flush()
    assert.equal(a.done, false, 'a member joined during the first delay, so another one is granted')
    clock.advance(2999)
    await flush()
    assert.equal(a.done, false)
    clock.advance(1)
    await flush()
    assert.equal(a.value?.generationId, 1)
    assert.equal(b.value?.generationId, 1)
    assert.equal(a.value.leader, a.value.memberId)
  })
})

describe('SyncGroup', () => {
  it('holds followers until the leader assigns, then gives each its own assignment', async () => {
    const { coordinator } = harness()
    const a = await coordinator.join(joinRequest())
    const b = coordinator.join(joinRequest())
    const a2 = await coordinator.join(joinRequest({ memberId: a.memberId }))
    const b2 = await b
    const follower = track(coordinator.sync({ groupId: 'g', generationId: 2, memberId: b2.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] }))
    await flush()
    assert.equal(follower.done, false)
    const leader = await coordinator.sync({
      groupId: 'g',
      generationId: a2.generationId,
      memberId: a.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: b2.memberId, assignment: Buffer.from('for-b') }],
    })
    assert.equal(leader.errorCode, E.NONE)
    assert.equal(leader.assignment.length, 0, 'a member the leader left out gets an empty assignment')
    assert.equal((await follower.promise).assignment.toString(), 'for-b')
    assert.equal(coordinator.groupState('g'), 'Stable')
  })

  it('refuses stale generations, unknown members, protocol mismatches and syncs during a join phase', async () => {
    const { coordinator } = harness()
    const { members, generation, leader } = await stableGroup(coordinator, 2)
    const base = { groupId: 'g', generationId: generation, memberId: leader, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }
    assert.equal((await coordinator.sync({ ...base, generationId: generation - 1 })).errorCode, E.ILLEGAL_GENERATION)
    assert.equal((await coordinator.sync({ ...base, memberId: 'ghost' })).errorCode, E.UNKNOWN_MEMBER_ID)
    assert.equal((await coordinator.sync({ ...base, protocolName: 'roundrobin' })).errorCode, E.INCONSISTENT_GROUP_PROTOCOL)
    assert.equal((await coordinator.sync({ ...base, groupId: 'nope' })).errorCode, E.UNKNOWN_MEMBER_ID)
    const again = await coordinator.sync({ ...base, memberId: members[1]! })
    assert.equal(again.assignment.toString(), 'assignment-1', 'a repeated sync in Stable returns the current assignment')
    const rejoin = track(coordinator.join(joinRequest({ memberId: leader })))
    assert.equal((await coordinator.sync(base)).errorCode, E.REBALANCE_IN_PROGRESS)
    assert.equal(rejoin.done, false)
  })

  it('answers waiting followers with REBALANCE_IN_PROGRESS when a rebalance starts before the leader syncs', async () => {
    const { coordinator } = harness()
    const a = await coordinator.join(joinRequest())
    const b = coordinator.join(joinRequest())
    await coordinator.join(joinRequest({ memberId: a.memberId }))
    const b2 = await b
    const follower = coordinator.sync({ groupId: 'g', generationId: b2.generationId, memberId: b2.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })
    void coordinator.join(joinRequest({ clientId: 'third' }))
    assert.equal((await follower).errorCode, E.REBALANCE_IN_PROGRESS)
    assert.equal(coordinator.groupState('g'), 'PreparingRebalance')
  })

  it('removes members that never send SyncGroup once the rebalance timeout passes', async () => {
    const { coordinator, clock } = harness()
    const a = await coordinator.join(joinRequest())
    const b = coordinator.join(joinRequest())
    await coordinator.join(joinRequest({ memberId: a.memberId }))
    const b2 = await b
    const generation = b2.generationId
    // Only the leader syncs; its heartbeats keep its session alive.
    const leaderSync = coordinator.sync({ groupId: 'g', generationId: generation, memberId: a.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })
    assert.equal((await leaderSync).errorCode, E.NONE)
    for (let t = 0; t < REBALANCE_MS; t += SESSION_MS / 2) {
      clock.advance(SESSION_MS / 2)
      coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: b2.memberId, groupInstanceId: null })
      coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: a.memberId, groupInstanceId: null })
    }
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: b2.memberId, groupInstanceId: null }), E.UNKNOWN_MEMBER_ID)
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: a.memberId, groupInstanceId: null }), E.REBALANCE_IN_PROGRESS)
  })
})

describe('Heartbeat and session timeout', () => {
  it('keeps a heartbeating member and evicts a silent one after its session timeout', async () => {
    const { coordinator, clock } = harness()
    const { members, generation } = await stableGroup(coordinator, 2)
    const [a, b] = members as [string, string]
    clock.advance(SESSION_MS - 1)
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: null }), E.NONE)
    assert.equal(coordinator.groupState('g'), 'Stable')
    clock.advance(1)
    // b has now been silent for a whole session timeout: it is gone and a must rejoin.
    assert.equal(coordinator.groupState('g'), 'PreparingRebalance')
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: null }), E.REBALANCE_IN_PROGRESS)
    const rejoined = await coordinator.join(joinRequest({ memberId: a }))
    assert.equal(rejoined.generationId, generation + 1)
    assert.deepEqual(
      rejoined.members.map((m) => m.memberId),
      [a],
    )
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: b, groupInstanceId: null }), E.UNKNOWN_MEMBER_ID)
  })

  it('answers stale generations with ILLEGAL_GENERATION and unknown groups with UNKNOWN_MEMBER_ID', async () => {
    const { coordinator } = harness()
    const { members, generation } = await stableGroup(coordinator, 1)
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation - 1, memberId: members[0]!, groupInstanceId: null }), E.ILLEGAL_GENERATION)
    assert.equal(coordinator.heartbeat({ groupId: 'other', generationId: 1, memberId: members[0]!, groupInstanceId: null }), E.UNKNOWN_MEMBER_ID)
  })

  it('drops an id handed out with MEMBER_ID_REQUIRED that never comes back, without holding up the rebalance', async () => {
    const { coordinator, clock } = harness()
    const { members } = await stableGroup(coordinator, 1)
    const pending = await coordinator.join(joinRequest({ requireKnownMemberId: true }))
    assert.equal(pending.errorCode, E.MEMBER_ID_REQUIRED)
    const other = await joinWithId(coordinator)
    const rejoin = track(coordinator.join(joinRequest({ memberId: members[0]! })))
    await flush()
    assert.equal(rejoin.done, false, 'the join phase waits for the outstanding member id')
    clock.advance(SESSION_MS)
    await flush()
    assert.equal(rejoin.value?.errorCode, E.NONE)
    assert.equal(rejoin.value.members.length, 2)
    assert.equal((await other.join.promise).generationId, rejoin.value.generationId)
  })
})

describe('LeaveGroup', () => {
  it('rebalances the rest of the group when a member leaves', async () => {
    const { coordinator } = harness()
    const { members, generation } = await stableGroup(coordinator, 2)
    const [a, b] = members as [string, string]
    const left = coordinator.leave('g', [{ memberId: b, groupInstanceId: null }])
    assert.deepEqual(left, { errorCode: E.NONE, members: [{ memberId: b, groupInstanceId: null, errorCode: E.NONE }] })
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: null }), E.REBALANCE_IN_PROGRESS)
    const rejoined = await coordinator.join(joinRequest({ memberId: a }))
    assert.deepEqual(
      rejoined.members.map((m) => m.memberId),
      [a],
    )
  })

  it('removes several members in one batched request and reports each (v3+)', async () => {
    const { coordinator } = harness()
    const { members } = await stableGroup(coordinator, 3)
    const left = coordinator.leave('g', [
      { memberId: members[1]!, groupInstanceId: null },
      { memberId: 'ghost', groupInstanceId: null },
      { memberId: members[2]!, groupInstanceId: null },
    ])
    assert.deepEqual(
      left.members.map((m) => m.errorCode),
      [E.NONE, E.UNKNOWN_MEMBER_ID, E.NONE],
    )
    assert.deepEqual(coordinator.leave('nope', [{ memberId: 'x', groupInstanceId: null }]).members[0]?.errorCode, E.UNKNOWN_MEMBER_ID)
  })

  it('empties the group when the last member leaves', async () => {
    const { coordinator } = harness()
    const { members, generation } = await stableGroup(coordinator, 1)
    coordinator.leave('g', [{ memberId: members[0]!, groupInstanceId: null }])
    assert.equal(coordinator.groupState('g'), 'Empty')
    assert.equal(coordinator.generationOf('g'), generation + 1)
  })
})

describe('shutdown', () => {
  it('answers waiting joins and syncs with NOT_COORDINATOR and stops every timer', async () => {
    const { coordinator, clock } = harness()
    const { members } = await stableGroup(coordinator, 1)
    const waiting = coordinator.join(joinRequest({ clientId: 'x' }))
    coordinator.close()
    assert.equal((await waiting).errorCode, E.NOT_COORDINATOR)
    assert.equal(clock.pending, 0)
    assert.ok(members.length === 1)
  })
})
