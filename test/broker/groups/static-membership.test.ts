/**
 * Static membership (KIP-345). Invariant: a member that restarts with the same group.instance.id
 * within its session timeout gets its assignment back without a rebalance, and whichever
 * incarnation is older is fenced with FENCED_INSTANCE_ID.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { GroupCoordinator } from '../../../src/broker/groups/coordinator.js'
import { KafkaErrorCode as E } from '../../../src/protocol/errors/kafka-errors.js'
import { flush, harness, joinRequest, REBALANCE_MS, track } from './helpers/harness.js'

/** A stable group of static member `i-a` (the leader) and dynamic member b. */
async function staticGroup(coordinator: GroupCoordinator, sessionTimeoutMs = 10_000) {
  const a = await coordinator.join(joinRequest({ groupInstanceId: 'i-a', sessionTimeoutMs }))
  const b = coordinator.join(joinRequest({ clientId: 'b', sessionTimeoutMs }))
  const a2 = await coordinator.join(joinRequest({ memberId: a.memberId, groupInstanceId: 'i-a', sessionTimeoutMs }))
  const b2 = await b
  const generation = a2.generationId
  const base = { groupId: 'g', generationId: generation, protocolType: null, protocolName: null }
  const assignments = [
    { memberId: a.memberId, assignment: Buffer.from('for-a') },
    { memberId: b2.memberId, assignment: Buffer.from('for-b') },
  ]
  await Promise.all([
    coordinator.sync({ ...base, memberId: a.memberId, groupInstanceId: 'i-a', assignments }),
    coordinator.sync({ ...base, memberId: b2.memberId, groupInstanceId: null, assignments: [] }),
  ])
  return { a: a.memberId, b: b2.memberId, generation }
}

describe('static membership (KIP-345)', () => {
  it('gives a restarted static member its assignment back with no rebalance, and fences the old member id', async () => {
    const { coordinator } = harness()
    const { a, b, generation } = await staticGroup(coordinator)
    const restarted = await coordinator.join(joinRequest({ groupInstanceId: 'i-a' }))
    assert.equal(restarted.errorCode, E.NONE)
    assert.notEqual(restarted.memberId, a)
    assert.equal(restarted.generationId, generation, 'no new generation')
    assert.equal(restarted.leader, restarted.memberId, 'leadership moves to the new member id')
    assert.equal(restarted.skipAssignment, true, 'KIP-814: the leader must not reassign')
    assert.equal(coordinator.groupState('g'), 'Stable')
    const synced = await coordinator.sync({ groupId: 'g', generationId: generation, memberId: restarted.memberId, groupInstanceId: 'i-a', protocolType: null, protocolName: null, assignments: [] })
    assert.equal(synced.assignment.toString(), 'for-a')
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: 'i-a' }), E.FENCED_INSTANCE_ID)
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: b, groupInstanceId: null }), E.NONE)
    assert.deepEqual(coordinator.commitOffsets({ groupId: 'g', generationId: generation, memberId: a, groupInstanceId: 'i-a', offsets: [] }), [])
    assert.deepEqual(
      coordinator.commitOffsets({
        groupId: 'g',
        generationId: generation,
        memberId: a,
        groupInstanceId: 'i-a',
        offsets: [{ topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: null, commitTimestamp: -1 }],
      }),
      [E.FENCED_INSTANCE_ID],
    )
  })

  it('fences an older incarnation waiting in JoinGroup when a duplicate instance joins', async () => {
    const { coordinator } = harness()
    const { a } = await staticGroup(coordinator)
    void coordinator.join(joinRequest({ clientId: 'c' }))
    const waiting = track(coordinator.join(joinRequest({ memberId: a, groupInstanceId: 'i-a' })))
    await flush()
    assert.equal(waiting.done, false)
    const duplicate = track(coordinator.join(joinRequest({ groupInstanceId: 'i-a' })))
    await flush()
    assert.equal(waiting.value?.errorCode, E.FENCED_INSTANCE_ID)
    assert.equal(duplicate.done, false, 'the new incarnation takes part in the rebalance')
  })

  it('keeps an absent static member through a rebalance, then evicts it if it does not come back', async () => {
    const { coordinator, clock } = harness()
    const session = 2 * REBALANCE_MS
    const { a, b } = await staticGroup(coordinator, session)
    const c = track(coordinator.join(joinRequest({ clientId: 'c', sessionTimeoutMs: session })))
    const b2 = track(coordinator.join(joinRequest({ memberId: b, sessionTimeoutMs: session })))
    clock.advance(REBALANCE_MS)
    await flush()
    assert.equal(b2.value?.errorCode, E.NONE)
    assert.equal(c.value?.errorCode, E.NONE)
    const leaderView = [b2.value, c.value].find((r) => r.members.length > 0)
    assert.deepEqual(leaderView?.members.map((m) => m.memberId).sort(), [a, b, c.value.memberId].sort(), 'the static member is still assigned to')
    const generation = b2.value.generationId
    await Promise.all(
      [b2.value, c.value].map((r) =>
        coordinator.sync({ groupId: 'g', generationId: generation, memberId: r.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] }),
      ),
    )
    assert.equal(coordinator.groupState('g'), 'Stable')
    clock.advance(REBALANCE_MS / 2)
    for (const r of [b2.value, c.value]) {
      assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: r.memberId, groupInstanceId: null }), E.NONE)
    }
    // It never synced this generation either: one rebalance timeout after the join, it is out.
    clock.advance(REBALANCE_MS / 2)
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: b2.value.generationId, memberId: a, groupInstanceId: 'i-a' }), E.UNKNOWN_MEMBER_ID)
    assert.equal(coordinator.groupState('g'), 'PreparingRebalance')
  })

  it('lets an administrator remove a static member by instance id alone', async () => {
    const { coordinator } = harness()
    const { generation, b } = await staticGroup(coordinator)
    const left = coordinator.leave('g', [
      { memberId: '', groupInstanceId: 'i-a' },
      { memberId: '', groupInstanceId: 'i-unknown' },
    ])
    assert.deepEqual(
      left.members.map((m) => m.errorCode),
      [E.NONE, E.UNKNOWN_MEMBER_ID],
    )
    assert.equal(coordinator.heartbeat({ groupId: 'g', generationId: generation, memberId: b, groupInstanceId: null }), E.REBALANCE_IN_PROGRESS)
  })

  it('fences a leave that names the instance with an outdated member id', async () => {
    const { coordinator } = harness()
    const { a } = await staticGroup(coordinator)
    await coordinator.join(joinRequest({ groupInstanceId: 'i-a' }))
    assert.equal(coordinator.leave('g', [{ memberId: a, groupInstanceId: 'i-a' }]).members[0]?.errorCode, E.FENCED_INSTANCE_ID)
    assert.equal(coordinator.groupState('g'), 'Stable')
  })
})
