/**
 * Consumer groups beside classic groups: static members (instance id, epoch -2 for a temporary
 * leave), regex subscriptions, member-epoch checks on OffsetCommit and OffsetFetch, the group types
 * and members ListGroups, DescribeGroups and ConsumerGroupDescribe report, and the refusals and
 * conversions between the two group types.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { KafkaErrorCode as E } from '../../../../src/protocol/errors/kafka-errors.js'
import { joinRequest } from '../helpers/harness.js'
import { consumerHarness, SESSION_MS, TestMember } from './helpers.js'

const commit = (h: ReturnType<typeof consumerHarness>, memberId: string, epoch: number, apiVersion = 9): number[] =>
  h.coordinator.commitOffsets({ groupId: 'g', generationId: epoch, memberId, groupInstanceId: null, apiVersion, offsets: [{ topic: 't', partition: 0, offset: 5n, leaderEpoch: -1, metadata: null, commitTimestamp: -1 }] })

describe('static members of a consumer group', () => {
  it('a temporary leave (-2) keeps the assignment; the same instance back with a new member id gets it without a rebalance', () => {
    const h = consumerHarness()
    const a = new TestMember(h, 'a1', { instanceId: 'A' })
    const b = new TestMember(h, 'b', {})
    a.join()
    b.join()
    a.beat()
    a.beat()
    b.beat()
    const mine = a.partitions()
    const epochBefore = a.epoch
    assert.equal(a.beat({ memberEpoch: -2 }).memberEpoch, -2)
    const epoch = h.coordinator.describeConsumerGroup('g').groupEpoch
    b.beat()
    assert.equal(b.partitions().length, 3, 'b does not get the absent member\'s partitions')
    const back = new TestMember(h, 'a2', { instanceId: 'A' })
    back.join()
    assert.deepEqual(back.partitions(), mine)
    assert.equal(back.epoch, epochBefore)
    assert.equal(h.coordinator.describeConsumerGroup('g').groupEpoch, epoch, 'no new group epoch')
  })

  it('refuses a second live member with the same instance id, and removes an absent one after its session', () => {
    const h = consumerHarness()
    new TestMember(h, 'a1', { instanceId: 'A' }).join()
    assert.equal(new TestMember(h, 'a2', { instanceId: 'A' }).join().errorCode, E.UNRELEASED_INSTANCE_ID)
    const h2 = consumerHarness()
    const away = new TestMember(h2, 'x', { instanceId: 'X' })
    away.join()
    away.beat({ memberEpoch: -2 })
    h2.clock.advance(SESSION_MS)
    assert.equal(h2.coordinator.describeConsumerGroup('g').state, 'Empty')
  })

  it('epoch -2 without an instance id is an invalid request', () => {
    const h = consumerHarness()
    const a = new TestMember(h, 'a')
    a.join()
    assert.equal(a.beat({ memberEpoch: -2 }).errorCode, E.INVALID_REQUEST)
  })
})

describe('regex subscriptions', () => {
  it('assigns the partitions of every matching topic, whole names only, and picks up a new matching topic', () => {
    const h = consumerHarness()
    h.topics.set('orders-eu', 2).set('orders-us', 2).set('orders-eu-archive', 1)
    const a = new TestMember(h, 'a', { subscribedTopicNames: [] })
    a.join({ subscribedTopicNames: null, subscribedTopicRegex: 'orders-(eu|us)' })
    assert.deepEqual([...a.owned.keys()].sort(), ['orders-eu', 'orders-us'])
    h.topics.set('orders-asia', 1)
    h.topics.set('orders-us', 3)
    a.beat()
    assert.deepEqual(a.partitions('orders-us'), [0, 1, 2], 'new partitions of a matching topic')
    a.beat({ subscribedTopicRegex: 'orders-.*' })
    assert.deepEqual([...a.owned.keys()].sort(), ['orders-asia', 'orders-eu', 'orders-eu-archive', 'orders-us'], 'a changed regex')
    assert.deepEqual(h.coordinator.describeConsumerGroup('g').members[0]!.subscribedTopicRegex, 'orders-.*')
  })
})

describe('offsets of a consumer group', () => {
  it('OffsetCommit checks the member epoch: STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID, and v9+ for members', () => {
    const h = consumerHarness()
    const a = new TestMember(h, 'a')
    a.join()
    assert.deepEqual(commit(h, 'a', 1), [E.NONE])
    assert.deepEqual(commit(h, 'a', 0), [E.STALE_MEMBER_EPOCH])
    assert.deepEqual(commit(h, 'nobody', 1), [E.UNKNOWN_MEMBER_ID])
    assert.deepEqual(commit(h, 'a', 1, 8), [E.UNSUPPORTED_VERSION])
    assert.deepEqual(commit(h, '', -1), [E.UNKNOWN_MEMBER_ID], 'no member-less commits while the group has members')
  })

  it('OffsetFetch checks a member epoch when one is given', () => {
    const h = consumerHarness()
    const a = new TestMember(h, 'a')
    a.join()
    commit(h, 'a', 1)
    const wanted = [{ topic: 't', partitions: [0] }]
    assert.equal(h.coordinator.fetchOffsets('g', wanted, { memberId: 'a', memberEpoch: 1 }).topics[0]?.partitions[0]?.offset, 5n)
    assert.equal(h.coordinator.fetchOffsets('g', wanted, { memberId: 'a', memberEpoch: 0 }).errorCode, E.STALE_MEMBER_EPOCH)
    assert.equal(h.coordinator.fetchOffsets('g', wanted, { memberId: 'b', memberEpoch: 1 }).errorCode, E.UNKNOWN_MEMBER_ID)
    assert.equal(h.coordinator.fetchOffsets('g', wanted).topics[0]?.partitions[0]?.offset, 5n, 'an admin fetch needs no member')
  })
})

describe('classic and consumer groups side by side', () => {
  it('lists both with their types, filters by type, and describes consumer groups\' members', async () => {
    const h = consumerHarness()
    new TestMember(h, 'a').join()
    void h.coordinator.join(joinRequest({ groupId: 'classic' }))
    await new Promise((resolve) => setImmediate(resolve))
    const listed = h.coordinator.listGroups([], [])
    assert.deepEqual(listed.map((g) => [g.groupId, g.groupType]).sort(), [['classic', 'classic'], ['g', 'consumer']])
    assert.deepEqual(h.coordinator.listGroups([], ['consumer']).map((g) => g.groupId), ['g'])
    assert.deepEqual(h.coordinator.listGroups(['stable'], ['Consumer']).map((g) => g.groupId), ['g'])
    const described = h.coordinator.describeGroup('g')
    assert.equal(described.protocolType, 'consumer')
    assert.deepEqual(described.members.map((m) => m.memberId), ['a'])
    assert.ok(described.members[0]!.assignment.length > 0)
    assert.equal(h.coordinator.describeConsumerGroup('classic').errorCode, E.GROUP_ID_NOT_FOUND)
    const cg = h.coordinator.describeConsumerGroup('g')
    assert.deepEqual(cg.members[0]!.targetAssignment.get('t'), [0, 1, 2, 3, 4, 5])
  })

  it('refuses a member of the other protocol while the group has members, with Kafka\'s errors', async () => {
    const h = consumerHarness()
    new TestMember(h, 'a').join()
    const classicJoin = await h.coordinator.join(joinRequest({ groupId: 'g' }))
    assert.equal(classicJoin.errorCode, E.INCONSISTENT_GROUP_PROTOCOL)
    void h.coordinator.join(joinRequest({ groupId: 'c' }))
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(new TestMember(h, 'x').join({ groupId: 'c' }).errorCode, E.GROUP_ID_NOT_FOUND)
  })

  it('an empty classic group becomes a consumer group and keeps its offsets (and back again)', async () => {
    const h = consumerHarness()
    h.coordinator.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, offsets: [{ topic: 't', partition: 1, offset: 9n, leaderEpoch: -1, metadata: null, commitTimestamp: -1 }] })
    assert.equal(h.coordinator.groupType('g'), 'classic')
    const a = new TestMember(h, 'a')
    assert.equal(a.join().errorCode, E.NONE)
    assert.equal(h.coordinator.groupType('g'), 'consumer')
    assert.equal(h.coordinator.fetchOffsets('g', [{ topic: 't', partitions: [1] }]).topics[0]?.partitions[0]?.offset, 9n)
    a.beat({ memberEpoch: -1 })
    const joined = h.coordinator.join(joinRequest({ groupId: 'g' }))
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(h.coordinator.groupType('g'), 'classic')
    assert.equal(h.coordinator.fetchOffsets('g', [{ topic: 't', partitions: [1] }]).topics[0]?.partitions[0]?.offset, 9n)
    h.coordinator.close()
    await joined
  })
})

describe('transactional offsets of a consumer group', () => {
  it('TxnOffsetCommit checks the member and its epoch, and the committed transaction\'s offsets land in the consumer group', () => {
    const h = consumerHarness()
    const a = new TestMember(h, 'a')
    a.join()
    const check = (memberId: string, generationId: number): number => h.coordinator.validateTransactionalCommit({ groupId: 'g', memberId, generationId, groupInstanceId: null })
    assert.equal(check('a', 1), E.NONE)
    assert.equal(check('a', 7), E.ILLEGAL_GENERATION)
    assert.equal(check('ghost', 1), E.UNKNOWN_MEMBER_ID)
    assert.equal(check('', -1), E.NONE, 'a producer that sent no group metadata')
    h.coordinator.applyTransactionalOffsets('g', [{ topic: 't', partition: 2, offset: 44n, leaderEpoch: -1, metadata: null }])
    assert.equal(h.coordinator.groupType('g'), 'consumer')
    assert.equal(h.coordinator.fetchOffsets('g', [{ topic: 't', partitions: [2] }]).topics[0]?.partitions[0]?.offset, 44n)
  })
})
