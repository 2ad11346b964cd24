/**
 * Local session expiry while a heartbeat hangs: the coordinator's answers to heartbeats are held
 * in transit (as a stalled connection holds them until the request timeout), and the member must
 * still give its partitions up before the coordinator could hand them to someone else. A late
 * answer to a heartbeat the member gave up on must not bring the old membership back.
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { Heartbeat, type HeartbeatRequest } from '../../../src/protocol/generated/index.js'
import { eventually, Harness, HEARTBEAT_MS, SESSION_MS, waitForState, type HookCall } from './membership-helpers.js'

let h: Harness
beforeEach(async () => {
  h = await Harness.start()
})
afterEach(async () => {
  await h.close()
})

/** Holds the answers to every heartbeat until released; the coordinator has handled each when it was sent. */
function holdHeartbeats(): { readonly held: number; release(): void } {
  return h.wire.hold(Heartbeat)
}

describe('local session expiry with a heartbeat in flight', () => {
  it('calls onLost by the session timeout although the heartbeat never answers', async () => {
    let lostAt = -1
    const calls: HookCall['hook'][] = []
    const { member } = h.member({
      hooks: {
        onAssign: () => void calls.push('onAssign'),
        onRevoke: () => void calls.push('onRevoke'),
        onLost: () => {
          calls.push('onLost')
          lostAt = h.timers.now()
        },
      },
    })
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    await h.timers.advanceBy(HEARTBEAT_MS, 3)
    // Every heartbeat so far succeeded; the coordinator may evict from SESSION_MS after the last one was sent.
    const lastGood = h.timers.now()
    const hold = holdHeartbeats()
    await h.timers.advanceBy(HEARTBEAT_MS / 4, (SESSION_MS / HEARTBEAT_MS) * 4)
    assert.equal(hold.held, 1, 'the hung heartbeat held back the next ones')
    assert.ok(lostAt > 0, 'onLost was called while the heartbeat hung')
    assert.ok(lostAt <= lastGood + SESSION_MS, `lost at ${lostAt}, coordinator deadline ${lastGood + SESSION_MS}`)
    // The last good heartbeat was sent within one interval before lastGood: no earlier than a session after it.
    assert.ok(lostAt >= lastGood - HEARTBEAT_MS + SESSION_MS, `not earlier than a whole session without a good heartbeat (${lostAt})`)
    assert.deepEqual(calls, ['onAssign', 'onLost'])
  })

  it('ignores the late answer to an abandoned heartbeat: the member rejoins under a new id', async () => {
    const { member, calls } = h.member()
    const onLostSeen = (): boolean => calls.some((c) => c.hook === 'onLost')
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    const oldId = member.memberId
    const hold = holdHeartbeats()
    await eventually(h.timers, onLostSeen, SESSION_MS / HEARTBEAT_MS, HEARTBEAT_MS)
    // The coordinator's own session timeout passes for the old member; the late answer then arrives.
    // The coordinator answered the held heartbeat when it came, while the old id was still its member.
    assert.equal(hold.held, 1)
    const beatsBefore = h.wire.requests('Heartbeat').length
    hold.release()
    await eventually(h.timers, () => member.state === 'stable' && member.memberId !== oldId)
    await h.timers.advanceBy(HEARTBEAT_MS, 2 * (SESSION_MS / HEARTBEAT_MS))
    assert.deepEqual(calls.map((c) => c.hook), ['onAssign', 'onLost', 'onAssign'])
    assert.notEqual(member.memberId, oldId)
    assert.equal(member.state, 'stable')
    const later = h.wire.requests('Heartbeat').slice(beatsBefore) as HeartbeatRequest[]
    assert.ok(later.length > 0, 'the new member heartbeats')
    assert.deepEqual(new Set(later.map((r) => r.memberId)), new Set([member.memberId]), 'no heartbeat goes out under the old id')
  })
})
