/**
 * ConsumerGroupHeartbeat (v0 and v1) and ConsumerGroupDescribe on the wire: ApiVersions advertises
 * them, assignments travel as topic ids the broker's Metadata reports, a v1 member may subscribe
 * with a regex, and OffsetCommit v9 is fenced by the member epoch.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../../../src/broker/index.js'
import { KafkaErrorCode as E } from '../../../../src/protocol/errors/kafka-errors.js'
import { ApiVersions, ConsumerGroupDescribe, ConsumerGroupHeartbeat, Metadata, OffsetCommit } from '../../../../src/protocol/generated/index.js'
import { TestConnection } from '../../helpers/connection.js'

describe('consumer group APIs on the wire', () => {
  let broker: EmbeddedBroker
  let conn: TestConnection
  before(async () => {
    broker = await startBroker({ memory: true })
    broker.createTopic('w', { partitions: 3 })
    conn = await TestConnection.open(broker.bootstrap[0]!)
  })
  after(async () => {
    await conn.close()
    await broker.stop()
  })

  it('advertises ConsumerGroupHeartbeat v0-1 and ConsumerGroupDescribe v0', async () => {
    const versions = await conn.request(ApiVersions, 3, {})
    const find = (key: number) => versions.apiKeys.find((k) => k.apiKey === key)
    assert.deepEqual([find(68)?.minVersion, find(68)?.maxVersion], [0, 1])
    assert.deepEqual([find(69)?.minVersion, find(69)?.maxVersion], [0, 0])
  })

  it('joins with a regex, gets topic ids Metadata knows, commits under its epoch, and is described', async () => {
    const metadata = await conn.request(Metadata, 12, { topics: [{ name: 'w', topicId: 'AAAAAAAAAAAAAAAAAAAAAA' }] })
    const topicId = metadata.topics[0]!.topicId
    const joined = await conn.request(ConsumerGroupHeartbeat, 1, { groupId: 'wg', memberId: 'member-1', memberEpoch: 0, rebalanceTimeoutMs: 5000, subscribedTopicNames: [], subscribedTopicRegex: 'w', topicPartitions: [] })
    assert.equal(joined.errorCode, E.NONE)
    assert.equal(joined.memberId, 'member-1')
    assert.deepEqual(joined.assignment?.topicPartitions, [{ topicId, partitions: [0, 1, 2] }])
    const commit = (epoch: number) =>
      conn.request(OffsetCommit, 9, { groupId: 'wg', generationIdOrMemberEpoch: epoch, memberId: 'member-1', topics: [{ name: 'w', partitions: [{ partitionIndex: 0, committedOffset: 3n }] }] })
    assert.equal((await commit(joined.memberEpoch)).topics[0]?.partitions[0]?.errorCode, E.NONE)
    assert.equal((await commit(joined.memberEpoch + 1)).topics[0]?.partitions[0]?.errorCode, E.STALE_MEMBER_EPOCH)
    const described = await conn.request(ConsumerGroupDescribe, 0, { groupIds: ['wg', 'nope'], includeAuthorizedOperations: false })
    assert.equal(described.groups[0]?.groupState, 'Stable')
    assert.deepEqual(described.groups[0]?.members[0]?.assignment.topicPartitions, [{ topicId, topicName: 'w', partitions: [0, 1, 2] }])
    assert.equal(described.groups[1]?.errorCode, E.GROUP_ID_NOT_FOUND)
    const left = await conn.request(ConsumerGroupHeartbeat, 0, { groupId: 'wg', memberId: 'member-1', memberEpoch: -1 })
    assert.equal(left.errorCode, E.NONE)
    assert.equal(left.memberEpoch, -1)
  })
})
