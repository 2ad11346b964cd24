/**
 * What administrators see: DescribeGroups, ListGroups and DeleteGroups, and where groups are
 * placed among the nodes.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { coordinatorNodeFor, javaStringHash, offsetsPartitionFor } from '../../../src/broker/groups/placement.js'
import { KafkaErrorCode as E } from '../../../src/protocol/errors/kafka-errors.js'
import { harness, joinRequest, stableGroup } from './helpers/harness.js'

describe('DescribeGroups', () => {
  it('shows metadata, assignments and the protocol of a stable group only', async () => {
    const { coordinator } = harness()
    const { members } = await stableGroup(coordinator, 2)
    const stable = coordinator.describeGroup('g')
    assert.equal(stable.state, 'Stable')
    assert.equal(stable.protocol, 'range')
    assert.deepEqual(
      stable.members.map((m) => [m.memberId, m.assignment.toString(), m.clientId]),
      [
        [members[0], 'assignment-0', 'c0'],
        [members[1], 'assignment-1', 'c1'],
      ],
    )
    void coordinator.join(joinRequest({ clientId: 'c2' }))
    const rebalancing = coordinator.describeGroup('g')
    assert.equal(rebalancing.state, 'PreparingRebalance')
    assert.equal(rebalancing.protocol, '')
    assert.ok(rebalancing.members.every((m) => m.assignment.length === 0 && m.metadata.length === 0))
    assert.deepEqual(coordinator.describeGroup('unknown'), { groupId: 'unknown', errorCode: E.NONE, state: 'Dead', protocolType: '', protocol: '', members: [] })
  })
})

describe('ListGroups', () => {
  it('filters by state case-insensitively and by type', async () => {
    const { coordinator } = harness()
    await stableGroup(coordinator, 1, 'live')
    coordinator.commitOffsets({ groupId: 'offsets-only', generationId: -1, memberId: '', groupInstanceId: null, offsets: [] })
    const names = (states: string[], types: string[] = []) =>
      coordinator
        .listGroups(states, types)
        .map((g) => g.groupId)
        .sort()
    assert.deepEqual(names([]), ['live', 'offsets-only'])
    assert.deepEqual(names(['STABLE']), ['live'])
    assert.deepEqual(names(['empty', 'stable']), ['live', 'offsets-only'])
    assert.deepEqual(names(['NoSuchState']), [])
    assert.deepEqual(names([], ['Classic']), ['live', 'offsets-only'])
    assert.deepEqual(names([], ['consumer']), [])
    const listed = coordinator.listGroups([], []).find((g) => g.groupId === 'offsets-only')
    assert.deepEqual(listed, { groupId: 'offsets-only', protocolType: '', state: 'Empty', groupType: 'classic' })
  })
})

describe('DeleteGroups', () => {
  it('deletes an empty group with its offsets and refuses groups with members', async () => {
    const { coordinator } = harness()
    await stableGroup(coordinator, 1)
    coordinator.commitOffsets({ groupId: 'old', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 0, offset: 3n, leaderEpoch: -1, metadata: null, commitTimestamp: -1 }] })
    assert.equal(coordinator.deleteGroup('g'), E.NON_EMPTY_GROUP)
    assert.equal(coordinator.deleteGroup('old'), E.NONE)
    assert.equal(coordinator.deleteGroup('old'), E.GROUP_ID_NOT_FOUND)
    assert.equal(coordinator.deleteGroup(''), E.INVALID_GROUP_ID)
    assert.equal(coordinator.groupState('old'), undefined)
    assert.equal(coordinator.fetchOffsets('old', [{ topic: 't', partitions: [0] }]).topics[0]?.partitions[0]?.offset, -1n)
  })
})

describe('coordinator placement', () => {
  it("hashes like Java's String.hashCode", () => {
    assert.equal(javaStringHash(''), 0)
    assert.equal(javaStringHash('hello'), 99162322)
    assert.equal(javaStringHash('Aa'), javaStringHash('BB'))
    // Overflows int32 and comes out negative, as in Java.
    assert.equal(javaStringHash('polygenelubricants'), -2147483648)
    assert.equal(offsetsPartitionFor('polygenelubricants', 50), 0, "Kafka's Utils.abs maps the most negative int to 0")
  })

  it('spreads groups over every node', () => {
    const nodes = new Set(Array.from({ length: 100 }, (_, i) => coordinatorNodeFor(`group-${i}`, 50, 3)))
    assert.deepEqual([...nodes].sort(), [0, 1, 2])
  })
})
