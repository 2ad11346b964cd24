/**
 * The member speaks every version of the group APIs the net layer may negotiate: requests are
 * built per version, and the embedded broker's coordinator answers them at that version. Static
 * membership needs JoinGroup v5 (KIP-345); below it the member stops with a clear error instead of
 * silently joining as a dynamic member.
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { MembershipError } from '../../../src/client/membership/errors.js'
import { Heartbeat, JoinGroup, LeaveGroup, OffsetCommit, SyncGroup, type JoinGroupRequest, type OffsetCommitRequest } from '../../../src/protocol/generated/index.js'
import { eventually, Harness, waitForState } from './membership-helpers.js'

type VersionSet = [join: number, sync: number, heartbeat: number, leave: number, commit: number]

const VERSION_SETS = {
  oldest: [0, 0, 0, 0, 2],
  'before KIP-394 (no MEMBER_ID_REQUIRED)': [3, 2, 2, 2, 5],
  'first with static membership': [5, 3, 3, 3, 7],
  'first flexible': [6, 4, 4, 4, 8],
  newest: [JoinGroup.maxStableVersion, SyncGroup.maxStableVersion, Heartbeat.maxStableVersion, LeaveGroup.maxStableVersion, OffsetCommit.maxStableVersion],
} satisfies Record<string, VersionSet>

let h: Harness
beforeEach(async () => {
  h = await Harness.start()
})
afterEach(async () => {
  await h.close()
})

function pin([join, sync, heartbeat, leave, commit]: VersionSet): void {
  const apis = [JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit]
  apis.forEach((api, i) => h.wire.versions.set(api.apiKey, [join, sync, heartbeat, leave, commit][i]!))
}

describe('group API versions', () => {
  for (const [name, versions] of Object.entries(VERSION_SETS) as [string, VersionSet][]) {
    it(`${name}: joins, commits, rebalances and leaves`, async () => {
      pin(versions)
      const a = h.member()
      a.member.subscribe(['orders'])
      await waitForState(a.member, 'stable')
      const joins = h.wire.requests('JoinGroup') as JoinGroupRequest[]
      assert.equal(joins.length, versions[0] >= 4 ? 2 : 1, 'MEMBER_ID_REQUIRED round trip from v4 only')
      await a.member.commit([{ topic: 'orders', partition: 0, offset: 3n, metadata: 'm' }])
      assert.deepEqual((h.wire.requests('OffsetCommit') as OffsetCommitRequest[]).map((c) => c.generationIdOrMemberEpoch), [1])
      assert.deepEqual((await a.member.committed([{ topic: 'orders', partition: 0 }])).map((c) => [c.offset, c.metadata]), [[3n, 'm']])
      const b = h.member()
      b.member.subscribe(['orders'])
      await eventually(h.timers, () => a.member.state === 'stable' && b.member.state === 'stable' && b.member.assignment().length > 0)
      const leaving = b.member.memberId
      await b.member.close()
      assert.equal(h.wire.requests('LeaveGroup').length, 1)
      assert.deepEqual(await h.groupMembers(), [a.member.memberId], `the coordinator removed the member that left (${leaving})`)
    })
  }

  it('static membership below JoinGroup v5 stops the member, saying why', async () => {
    pin(VERSION_SETS['before KIP-394 (no MEMBER_ID_REQUIRED)'])
    const { member } = h.member({ groupInstanceId: 'instance-1' })
    member.subscribe(['orders'])
    await waitForState(member, 'closed')
    assert.ok(member.failure instanceof MembershipError)
    assert.equal(member.failure.code, 'GROUP_STATIC_UNSUPPORTED')
  })
})
