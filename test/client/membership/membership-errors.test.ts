/**
 * How the member meets errors, against the embedded broker on a manual clock: a transport that
 * lacks the API, ownership lost while a hook runs (handled after the hook, through onLost), a
 * generation ending inside onRevoke. More of the coordinator's error answers (retried, rejoined or
 * fatal) are tested over real sockets in embedded-broker.test.ts.
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { rangeAssignor, type PartitionAssignor } from '../../../src/client/membership/assignors/index.js'
import { AssignorError, CommitFailedError, MembershipError } from '../../../src/client/membership/errors.js'
import { leaderAssign } from '../../../src/client/membership/leader.js'
import { GroupMember } from '../../../src/client/membership/member.js'
import { decodeAssignment, encodeSubscription } from '../../../src/client/membership/consumer-protocol.js'
import { UnsupportedVersionError } from '../../../src/net/errors.js'
import { KafkaErrorCode } from '../../../src/protocol/errors/kafka-errors.js'
import { Heartbeat, JoinGroup, OffsetCommit } from '../../../src/protocol/generated/index.js'
import type { GroupMetadataSource } from '../../../src/client/membership/transport.js'
import { eventually, Harness, waitForState } from './membership-helpers.js'

let h: Harness
beforeEach(async () => {
  h = await Harness.start()
})

/** Topics with these partition counts, for the leader's assignment alone (no coordinator involved). */
function topics(counts: Record<string, number>): GroupMetadataSource {
  return {
    partitionCounts: (names) => Promise.resolve(new Map(names.filter((t) => t in counts).map((t) => [t, counts[t]!]))),
    listTopics: () => Promise.resolve(Object.keys(counts)),
  }
}
afterEach(async () => {
  await h.close()
})

describe('membership errors', () => {
  it('stops instead of looping when the broker lacks the API', async () => {
    // The net layer refuses to send what the broker does not list in ApiVersions.
    h.wire.fail(JoinGroup, () => new UnsupportedVersionError('JoinGroup', 'b:1', 'test'))
    const { member } = h.member()
    member.subscribe(['orders'])
    await waitForState(member, 'closed')
    assert.ok(member.failure instanceof UnsupportedVersionError)
    assert.equal(h.wire.requests('JoinGroup').length, 1)
  })

  it('ownership lost while onAssign runs goes through onLost once the hook settles', async () => {
    let release: (() => void) | undefined
    let first = true
    const lost: string[] = []
    const { member } = h.member({
      hooks: {
        onAssign: () => (first ? new Promise<void>((resolve) => (release = resolve)) : undefined),
        onLost: (ps) => void lost.push(...ps.flatMap((g) => g.partitions.map(String))),
      },
    })
    member.subscribe(['orders'])
    await waitForState(member, 'assigning')
    const firstId = member.memberId
    h.broker.faults.failNext(Heartbeat, KafkaErrorCode.UNKNOWN_MEMBER_ID, { count: Infinity })
    await h.timers.advance(500)
    assert.equal(member.state, 'assigning')
    assert.deepEqual(lost, [])
    first = false
    h.broker.faults.clear()
    release!()
    await eventually(h.timers, () => member.state === 'stable')
    assert.deepEqual(lost, ['0', '1', '2', '3'])
    assert.notEqual(member.memberId, firstId, 'joined afresh under a new id')
  })

  it('eager: a generation that ends during onRevoke fails the commit there, typed, and the member rejoins', async () => {
    const ref: { member?: GroupMember } = {}
    const outcomes: unknown[] = []
    const { member, calls } = h.member({
      assignors: [rangeAssignor],
      hooks: {
        onRevoke: async () => {
          // The coordinator answers as it does once the group has moved to a later generation.
          h.broker.faults.failNext(OffsetCommit, KafkaErrorCode.ILLEGAL_GENERATION)
          outcomes.push(await ref.member!.commit([{ topic: 'orders', partition: 0, offset: 1n }]).then(() => 'ok', (e: unknown) => e))
        },
      },
    })
    ref.member = member
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    member.requestRejoin('test')
    await eventually(h.timers, () => outcomes.length === 1 && member.state === 'stable')
    const [error] = outcomes
    assert.ok(error instanceof CommitFailedError)
    assert.equal(error.code, 'GROUP_COMMIT_REBALANCE')
    assert.ok(!calls.some((c) => c.hook === 'onLost'), 'partitions released by onRevoke are not lost again')
  })

  it('close before subscribing sends nothing, and a closed member cannot subscribe', async () => {
    const { member } = h.member()
    await member.close()
    assert.equal(member.state, 'closed')
    assert.equal(h.wire.log.length, 0)
    assert.throws(() => member.subscribe(['orders']), (e: unknown) => e instanceof MembershipError && e.code === 'GROUP_CLOSED')
  })

  it('refuses options that cannot work, naming the option', () => {
    const base = { groupId: 'g', transport: h.wire.transport(), metadata: h.metadata }
    assert.throws(() => new GroupMember({ ...base, groupId: '' }), /groupId/)
    assert.throws(() => new GroupMember({ ...base, sessionTimeoutMs: 1000, heartbeatIntervalMs: 1000 }), /heartbeatIntervalMs/)
    assert.throws(() => new GroupMember({ ...base, rebalanceTimeoutMs: -5 }), /rebalanceTimeoutMs/)
    assert.throws(() => new GroupMember({ ...base, assignors: [] }), /assignors/)
  })
})

describe('leader assignment', () => {
  it('gives a member with undecodable metadata nothing and says why', async () => {
    const reported: unknown[] = []
    const result = await leaderAssign(
      rangeAssignor,
      [
        { memberId: 'good', groupInstanceId: null, metadata: encodeSubscription({ topics: ['orders'] }) },
        { memberId: 'bad', groupInstanceId: null, metadata: Buffer.from([0, 1, 0]) },
      ],
      topics({ orders: 2 }),
      (e) => reported.push(e),
    )
    const byMember = new Map(result.assignments.map((a) => [a.memberId, decodeAssignment(a.assignment).partitions]))
    assert.deepEqual(byMember.get('good'), [{ topic: 'orders', partitions: [0, 1] }])
    assert.deepEqual(byMember.get('bad'), [])
    assert.ok(reported[0] instanceof AssignorError)
  })

  it('withholds, under the cooperative protocol, what a custom assignor gives away while another member owns it', async () => {
    const reported: unknown[] = []
    const greedy: PartitionAssignor = {
      name: 'greedy',
      protocols: ['cooperative'],
      // Gives everything to the first member, whatever the others own.
      assign: (input) =>
        new Map(input.members.map((m, i) => [m.memberId, { partitions: i === 0 ? [{ topic: 'orders', partitions: [0, 1, 2] }] : [], userData: null }])),
    }
    const result = await leaderAssign(
      greedy,
      [
        { memberId: 'a', groupInstanceId: null, metadata: encodeSubscription({ topics: ['orders'], ownedPartitions: [{ topic: 'orders', partitions: [0] }] }) },
        { memberId: 'b', groupInstanceId: null, metadata: encodeSubscription({ topics: ['orders'], ownedPartitions: [{ topic: 'orders', partitions: [1] }] }) },
      ],
      topics({ orders: 3 }),
      (e) => reported.push(e),
      'cooperative',
    )
    const byMember = new Map(result.assignments.map((a) => [a.memberId, decodeAssignment(a.assignment).partitions]))
    assert.deepEqual(byMember.get('a'), [{ topic: 'orders', partitions: [0, 2] }], 'b still owns 1')
    assert.ok(reported[0] instanceof AssignorError)
  })
})
