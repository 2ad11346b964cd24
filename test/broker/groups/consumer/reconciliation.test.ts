/**
 * Invariants of KIP-848 reconciliation on the embedded coordinator: a partition goes to a new owner
 * only after its previous owner's heartbeat shows it revoked, or that owner left or its session
 * expired; members move through epochs one heartbeat at a time; the group epoch moves with members,
 * subscriptions and partition counts; stale and future epochs are fenced.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { KafkaErrorCode as E } from '../../../../src/protocol/errors/kafka-errors.js'
import { consumerHarness, INTERVAL_MS, owned, REBALANCE_MS, SESSION_MS, TestMember } from './helpers.js'

describe('consumer group reconciliation', () => {
  it('a first member joins at epoch 1 with every partition; an unchanged assignment is not sent again', () => {
    const h = consumerHarness()
    const a = new TestMember(h, 'a')
    const res = a.join()
    assert.equal(res.errorCode, E.NONE)
    assert.equal(res.memberEpoch, 1)
    assert.equal(res.heartbeatIntervalMs, INTERVAL_MS)
    assert.deepEqual(a.partitions(), [0, 1, 2, 3, 4, 5])
    assert.equal(a.beat().assignment, null)
    assert.equal(h.coordinator.describeConsumerGroup('g').state, 'Stable')
  })

  it('gives a joiner partitions only after their owner acknowledged revoking them', () => {
    const h = consumerHarness()
    const a = new TestMember(h, 'a')
    const b = new TestMember(h, 'b')
    a.join()
    b.join()
    assert.equal(b.epoch, 2, 'b is at the new group epoch')
    assert.deepEqual(b.partitions(), [], 'but a still holds everything')
    a.beat()
    assert.equal(a.epoch, 1, 'a keeps its epoch until it has revoked')
    assert.equal(a.partitions().length, 3, 'a is told to keep three')
    const described = h.coordinator.describeConsumerGroup('g')
    assert.equal(described.state, 'Reconciling')
    // b asks again before a acknowledged: still nothing.
    b.beat()
    assert.deepEqual(b.partitions(), [])
    // a's next heartbeat reports it owns only the three: the revocation is done.
    a.beat()
    assert.equal(a.epoch, 2)
    b.beat()
    assert.equal(b.partitions().length, 3)
    assert.deepEqual([...a.partitions(), ...b.partitions()].sort(), [0, 1, 2, 3, 4, 5])
    assert.equal(h.coordinator.describeConsumerGroup('g').state, 'Stable')
  })

  it('a heartbeat that still reports a revoked partition holds it back from the next owner', () => {
    const h = consumerHarness()
    const a = new TestMember(h, 'a')
    const b = new TestMember(h, 'b')
    a.join()
    b.join()
    const before = a.owned
    a.beat()
    // a has not run its revocation yet: it reports its old partitions.
    h.coordinator.consumerHeartbeat({ ...reqOf(a), owned: before })
    b.beat()
    assert.deepEqual(b.partitions(), [])
  })

  it('a member that leaves, or whose session expires, releases its partitions at once', () => {
    const h = consumerHarness()
    const [a, b, c] = ['a', 'b', 'c'].map((id) => new TestMember(h, id))
    a!.join()
    b!.join()
    a!.beat()
    a!.beat()
    b!.beat()
    h.clock.advance(SESSION_MS / 2)
    c!.join()
    // c waits for partitions a and b hold. b leaves (epoch -1); a's session expires.
    b!.beat({ memberEpoch: -1 })
    const epoch = h.coordinator.describeConsumerGroup('g').groupEpoch
    h.clock.advance(SESSION_MS / 2)
    assert.equal(h.coordinator.describeConsumerGroup('g').members.length, 1)
    assert.ok(h.coordinator.describeConsumerGroup('g').groupEpoch > epoch)
    c!.beat()
    assert.deepEqual(c!.partitions(), [0, 1, 2, 3, 4, 5])
  })

  it('a member that does not revoke within its rebalance timeout is removed', () => {
    const h = consumerHarness({ consumerSessionTimeoutMs: REBALANCE_MS * 2 })
    const a = new TestMember(h, 'a')
    const b = new TestMember(h, 'b')
    a.join()
    b.join()
    a.beat()
    h.coordinator.consumerHeartbeat({ ...reqOf(a), owned: owned({ t: [0, 1, 2, 3, 4, 5] }) })
    h.clock.advance(REBALANCE_MS)
    assert.deepEqual(h.coordinator.describeConsumerGroup('g').members.map((m) => m.memberId), ['b'])
    assert.equal(a.beat().errorCode, E.UNKNOWN_MEMBER_ID)
  })

  it('fences epochs ahead of the member, and behind it unless a retry of the previous epoch owning no more than assigned', () => {
    const h = consumerHarness()
    const a = new TestMember(h, 'a')
    a.join()
    assert.equal(a.beat({ memberEpoch: 5 }).errorCode, E.FENCED_MEMBER_EPOCH)
    const b = new TestMember(h, 'b')
    b.join()
    a.beat()
    a.beat()
    assert.equal(a.epoch, 2)
    // A lost answer: a retries with epoch 1, owning what it was assigned.
    assert.equal(h.coordinator.consumerHeartbeat({ ...reqOf(a), memberEpoch: 1, owned: a.owned }).errorCode, E.NONE)
    assert.equal(h.coordinator.consumerHeartbeat({ ...reqOf(a), memberEpoch: 1, owned: owned({ t: [0, 1, 2, 3, 4, 5] }) }).errorCode, E.FENCED_MEMBER_EPOCH)
    assert.equal(h.coordinator.consumerHeartbeat({ ...reqOf(a), memberEpoch: 7 }).errorCode, E.FENCED_MEMBER_EPOCH)
    assert.equal(new TestMember(h, 'ghost').beat({ memberEpoch: 3 }).errorCode, E.UNKNOWN_MEMBER_ID)
  })

  it('a rejoin with epoch 0 after fencing starts the member afresh at the current epoch', () => {
    const h = consumerHarness()
    const a = new TestMember(h, 'a')
    a.join()
    const res = a.join()
    assert.equal(res.errorCode, E.NONE)
    assert.equal(a.epoch, 1)
    assert.deepEqual(a.partitions(), [0, 1, 2, 3, 4, 5])
  })

  it('new partitions of a subscribed topic bump the group epoch and are assigned', () => {
    const h = consumerHarness()
    const a = new TestMember(h, 'a')
    a.join()
    h.topics.set('t', 8)
    a.beat()
    assert.equal(a.epoch, 2)
    assert.deepEqual(a.partitions(), [0, 1, 2, 3, 4, 5, 6, 7])
  })

  it('refuses bad requests with Kafka\'s codes', () => {
    const h = consumerHarness()
    const a = new TestMember(h, 'a')
    assert.equal(a.join({ serverAssignor: 'sticky' }).errorCode, E.UNSUPPORTED_ASSIGNOR)
    assert.equal(a.join({ subscribedTopicNames: null }).errorCode, E.INVALID_REQUEST)
    assert.equal(a.join({ rebalanceTimeoutMs: -1 }).errorCode, E.INVALID_REQUEST)
    assert.equal(a.join({ subscribedTopicNames: null, subscribedTopicRegex: '(' }).errorCode, E.INVALID_REGULAR_EXPRESSION)
    assert.equal(h.coordinator.consumerHeartbeat({ ...reqOf(a), groupId: '' }).errorCode, E.INVALID_GROUP_ID)
  })
})

function reqOf(m: TestMember) {
  return {
    groupId: 'g',
    memberId: m.memberId,
    memberEpoch: m.epoch,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: REBALANCE_MS,
    subscribedTopicNames: null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    owned: m.owned,
    clientId: 'client',
    clientHost: '',
  }
}
