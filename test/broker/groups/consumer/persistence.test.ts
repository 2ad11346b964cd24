/**
 * Invariant: with a data directory, a consumer group comes back after a restart as it was: group
 * epoch, target assignment, each member's epoch and assignment, and its offsets, so members heartbeat
 * on at their epochs and no partition changes hands unconfirmed; a member that does not come back
 * is removed one session timeout after the restart. The server assignor chosen is kept too.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FileGroupStore } from '../../../../src/broker/groups/file-store.js'
import { silentLogger } from '../../../../src/broker/options.js'
import { KafkaErrorCode as E } from '../../../../src/protocol/errors/kafka-errors.js'
import { consumerHarness, SESSION_MS, TestMember } from './helpers.js'
import { tempDirPerTest } from '../../../helpers/temp-dir.js'

describe('consumer groups on disk', () => {
  const dir = tempDirPerTest('baton-consumer-groups-')

  it('brings the group, its epochs, assignments and offsets back; an absent member leaves after a session', () => {
    const first = consumerHarness({ store: new FileGroupStore(dir(), silentLogger) })
    const a = new TestMember(first, 'a', { serverAssignor: 'range' })
    const b = new TestMember(first, 'b', { serverAssignor: 'range' })
    a.join()
    b.join()
    a.beat()
    a.beat()
    b.beat()
    first.coordinator.commitOffsets({ groupId: 'g', generationId: a.epoch, memberId: 'a', groupInstanceId: null, apiVersion: 9, offsets: [{ topic: 't', partition: 0, offset: 17n, leaderEpoch: -1, metadata: 'm', commitTimestamp: -1 }] })
    const before = first.coordinator.describeConsumerGroup('g')
    first.coordinator.close()

    const second = consumerHarness({ store: new FileGroupStore(dir(), silentLogger) })
    const after = second.coordinator.describeConsumerGroup('g')
    assert.equal(after.groupEpoch, before.groupEpoch)
    assert.equal(after.assignorName, 'range')
    assert.deepEqual(
      after.members.map((m) => [m.memberId, m.memberEpoch, [...m.assignment]]),
      before.members.map((m) => [m.memberId, m.memberEpoch, [...m.assignment]]),
    )
    assert.equal(second.coordinator.fetchOffsets('g', [{ topic: 't', partitions: [0] }]).topics[0]?.partitions[0]?.offset, 17n)
    // a carries on at its epoch; b never comes back.
    const a2 = new TestMember(second, 'a')
    a2.epoch = a.epoch
    a2.owned = a.owned
    second.clock.advance(SESSION_MS / 2)
    assert.equal(a2.beat().errorCode, E.NONE)
    assert.equal(a2.epoch, a.epoch)
    second.clock.advance(SESSION_MS / 2)
    assert.deepEqual(second.coordinator.describeConsumerGroup('g').members.map((m) => m.memberId), ['a'])
    a2.beat()
    assert.deepEqual(a2.partitions(), [0, 1, 2, 3, 4, 5], 'a gets b\'s partitions')
    second.coordinator.close()

    // A deleted (empty) consumer group stays deleted.
    const third = consumerHarness({ store: new FileGroupStore(dir(), silentLogger) })
    const a3 = new TestMember(third, 'a')
    a3.epoch = a2.epoch
    a3.owned = a2.owned
    a3.beat({ memberEpoch: -1 })
    assert.equal(third.coordinator.deleteGroup('g'), E.NONE)
    third.coordinator.close()
    const fourth = consumerHarness({ store: new FileGroupStore(dir(), silentLogger) })
    assert.equal(fourth.coordinator.groupType('g'), undefined)
    fourth.coordinator.close()
  })
})
