/**
 * Offset commits and their generation fencing: the rules that let a consumer commit while it
 * gives partitions up (PreparingRebalance) and stop it once they may belong to someone else.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { GroupCoordinator } from '../../../src/broker/groups/coordinator.js'
import type { OffsetToCommit } from '../../../src/broker/groups/offsets.js'
import { KafkaErrorCode as E } from '../../../src/protocol/errors/kafka-errors.js'
import { flush, harness, joinRequest, stableGroup, subscription, track } from './helpers/harness.js'

function offset(partition: number, value: number, metadata: string | null = null): OffsetToCommit {
  return { topic: 't', partition, offset: BigInt(value), leaderEpoch: -1, metadata, commitTimestamp: -1 }
}

function committed(coordinator: GroupCoordinator, groupId = 'g'): Record<string, bigint> {
  const fetched = coordinator.fetchOffsets(groupId, null)
  return Object.fromEntries(fetched.topics.flatMap((t) => t.partitions.map((p) => [`${t.topic}-${p.partition}`, p.offset])))
}

describe('OffsetCommit fencing', () => {
  it('accepts a commit from a member of the current generation and returns it from OffsetFetch', async () => {
    const { coordinator } = harness()
    const { members, generation } = await stableGroup(coordinator, 1)
    const errors = coordinator.commitOffsets({ groupId: 'g', generationId: generation, memberId: members[0]!, groupInstanceId: null, offsets: [offset(0, 42, 'note'), offset(1, 7)] })
    assert.deepEqual(errors, [E.NONE, E.NONE])
    const fetched = coordinator.fetchOffsets('g', [{ topic: 't', partitions: [0, 1, 2] }])
    assert.deepEqual(
      fetched.topics[0]?.partitions.map((p) => [p.partition, p.offset, p.metadata, p.errorCode]),
      [
        [0, 42n, 'note', E.NONE],
        [1, 7n, null, E.NONE],
        [2, -1n, '', E.NONE],
      ],
    )
  })

  it('refuses a stale generation with ILLEGAL_GENERATION and an unknown member with UNKNOWN_MEMBER_ID', async () => {
    const { coordinator } = harness()
    const { members, generation } = await stableGroup(coordinator, 2)
    assert.deepEqual(coordinator.commitOffsets({ groupId: 'g', generationId: generation - 1, memberId: members[0]!, groupInstanceId: null, offsets: [offset(0, 1)] }), [E.ILLEGAL_GENERATION])
    assert.deepEqual(coordinator.commitOffsets({ groupId: 'g', generationId: generation, memberId: 'ghost', groupInstanceId: null, offsets: [offset(0, 1)] }), [E.UNKNOWN_MEMBER_ID])
    assert.deepEqual(committed(coordinator), {})
  })

  it('accepts commits of the current generation during PreparingRebalance, so a revoking member can commit', async () => {
    const { coordinator } = harness()
    const { members, generation } = await stableGroup(coordinator, 2)
    void coordinator.join(joinRequest({ clientId: 'newcomer' }))
    assert.equal(coordinator.groupState('g'), 'PreparingRebalance')
    // Both old members are revoking: neither has rejoined yet, and both commit what they finished.
    assert.deepEqual(coordinator.commitOffsets({ groupId: 'g', generationId: generation, memberId: members[0]!, groupInstanceId: null, offsets: [offset(0, 10)] }), [E.NONE])
    assert.deepEqual(coordinator.commitOffsets({ groupId: 'g', generationId: generation, memberId: members[1]!, groupInstanceId: null, offsets: [offset(1, 20)] }), [E.NONE])
    assert.deepEqual(committed(coordinator), { 't-0': 10n, 't-1': 20n })
  })

  it('refuses commits during CompletingRebalance with REBALANCE_IN_PROGRESS, and the old generation afterwards', async () => {
    const { coordinator } = harness()
    const { members, generation } = await stableGroup(coordinator, 1)
    const newcomer = track(coordinator.join(joinRequest({ clientId: 'newcomer' })))
    await coordinator.join(joinRequest({ memberId: members[0]! }))
    await flush()
    assert.equal(newcomer.value?.errorCode, E.NONE)
    assert.equal(coordinator.groupState('g'), 'CompletingRebalance')
    const next = generation + 1
    assert.deepEqual(coordinator.commitOffsets({ groupId: 'g', generationId: next, memberId: members[0]!, groupInstanceId: null, offsets: [offset(0, 5)] }), [E.REBALANCE_IN_PROGRESS])
    assert.deepEqual(coordinator.commitOffsets({ groupId: 'g', generationId: generation, memberId: members[0]!, groupInstanceId: null, offsets: [offset(0, 5)] }), [E.ILLEGAL_GENERATION])
    assert.deepEqual(committed(coordinator), {})
  })

  it('accepts commits without a generation only for a group with no members', async () => {
    const { coordinator } = harness()
    const simple = { generationId: -1, memberId: '', groupInstanceId: null, offsets: [offset(0, 3)] }
    assert.deepEqual(coordinator.commitOffsets({ groupId: 'simple', ...simple }), [E.NONE])
    assert.equal(coordinator.groupState('simple'), 'Empty')
    assert.deepEqual(committed(coordinator, 'simple'), { 't-0': 3n })
    await stableGroup(coordinator, 1)
    assert.deepEqual(coordinator.commitOffsets({ groupId: 'g', ...simple }), [E.UNKNOWN_MEMBER_ID])
    assert.deepEqual(coordinator.commitOffsets({ groupId: 'never-existed', ...simple, generationId: 3, memberId: 'm' }), [E.ILLEGAL_GENERATION])
  })

  it('refuses metadata above offset.metadata.max.bytes, per partition', () => {
    const { coordinator } = harness({ offsetMetadataMaxBytes: 4 })
    const errors = coordinator.commitOffsets({ groupId: 's', generationId: -1, memberId: '', groupInstanceId: null, offsets: [offset(0, 1, 'abcd'), offset(1, 1, 'abcde')] })
    assert.deepEqual(errors, [E.NONE, E.OFFSET_METADATA_TOO_LARGE])
  })

  it('counts a commit as liveness, like a heartbeat', async () => {
    const { coordinator, clock } = harness()
    const { members, generation } = await stableGroup(coordinator, 1)
    for (let i = 0; i < 5; i++) {
      clock.advance(8000)
      assert.deepEqual(coordinator.commitOffsets({ groupId: 'g', generationId: generation, memberId: members[0]!, groupInstanceId: null, offsets: [offset(0, i)] }), [E.NONE])
    }
    assert.equal(coordinator.groupState('g'), 'Stable')
  })
})

describe('OffsetFetch', () => {
  it('returns nothing for an unknown group when asked for all offsets, and -1 per partition when asked for some', () => {
    const { coordinator } = harness()
    assert.deepEqual(coordinator.fetchOffsets('none', null), { errorCode: E.NONE, topics: [] })
    const some = coordinator.fetchOffsets('none', [{ topic: 'x', partitions: [0] }])
    assert.deepEqual(some.topics[0]?.partitions[0], { partition: 0, offset: -1n, leaderEpoch: -1, metadata: '', errorCode: E.NONE })
  })
})

describe('OffsetDelete', () => {
  it('deletes offsets of an empty group', () => {
    const { coordinator } = harness()
    coordinator.commitOffsets({ groupId: 's', generationId: -1, memberId: '', groupInstanceId: null, offsets: [offset(0, 1), offset(1, 2)] })
    const result = coordinator.deleteOffsets('s', [{ topic: 't', partitions: [0] }])
    assert.deepEqual(result, { errorCode: E.NONE, topics: [{ topic: 't', partitions: [{ partition: 0, errorCode: E.NONE }] }] })
    assert.deepEqual(committed(coordinator, 's'), { 't-1': 2n })
    assert.equal(coordinator.deleteOffsets('missing', []).errorCode, E.GROUP_ID_NOT_FOUND)
  })

  it('refuses topics the live group subscribes to with GROUP_SUBSCRIBED_TO_TOPIC and deletes the others', async () => {
    const { coordinator } = harness()
    const { members, generation } = await stableGroup(coordinator, 1)
    coordinator.commitOffsets({
      groupId: 'g',
      generationId: generation,
      memberId: members[0]!,
      groupInstanceId: null,
      offsets: [offset(0, 1), { ...offset(0, 9), topic: 'old' }],
    })
    const result = coordinator.deleteOffsets('g', [
      { topic: 't', partitions: [0] },
      { topic: 'old', partitions: [0] },
    ])
    assert.deepEqual(
      result.topics.map((t) => [t.topic, t.partitions[0]?.errorCode]),
      [
        ['t', E.GROUP_SUBSCRIBED_TO_TOPIC],
        ['old', E.NONE],
      ],
    )
    assert.deepEqual(committed(coordinator), { 't-0': 1n })
  })

  it('refuses a live group whose protocol is not the consumer protocol with NON_EMPTY_GROUP', async () => {
    const { coordinator } = harness()
    await coordinator.join(joinRequest({ groupId: 'connect', protocolType: 'connect', protocols: [{ name: 'default', metadata: subscription([]) }] }))
    assert.equal(coordinator.deleteOffsets('connect', [{ topic: 't', partitions: [0] }]).errorCode, E.NON_EMPTY_GROUP)
  })
})

describe('a closed coordinator', () => {
  it('answers OffsetFetch and DescribeGroups with NOT_COORDINATOR, as it answers every other group request, so clients look the coordinator up again', async () => {
    const { coordinator } = harness()
    const { members, generation } = await stableGroup(coordinator, 1)
    assert.deepEqual(coordinator.commitOffsets({ groupId: 'g', generationId: generation, memberId: members[0]!, groupInstanceId: null, offsets: [offset(0, 5)] }), [E.NONE])
    coordinator.close()
    assert.deepEqual(coordinator.fetchOffsets('g', null), { errorCode: E.NOT_COORDINATOR, topics: [] })
    const described = coordinator.describeGroup('g')
    assert.equal(described.errorCode, E.NOT_COORDINATOR)
    assert.deepEqual(described.members, [])
  })
})
