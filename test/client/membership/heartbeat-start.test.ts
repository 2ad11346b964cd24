/**
 * Invariant: a generation's first session deadline counts from when the SyncGroup that brought the
 * assignment was sent, and never from more than half a session before its answer arrived. A member
 * whose assignment came after a leader slow to assign (a wait longer than a whole session, during
 * which the coordinator kept it and restarted its session on the leader's assignment) keeps its
 * partitions, heartbeats at once, and is not presumed expired the moment the answer arrives.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Heartbeater } from '../../../src/client/membership/heartbeat.js'
import type { ApiSpec } from '../../../src/protocol/codec-runtime.js'
import { FakeTimers, settle } from './fake-timers.js'

const SESSION_MS = 6_000
const INTERVAL_MS = 2_000

function started(timers: FakeTimers): { heartbeater: Heartbeater; beats: number[]; outcomes: string[] } {
  const beats: number[] = []
  const outcomes: string[] = []
  const heartbeater = new Heartbeater({
    transport: {
      send: <Req, ReqInit, Res, ResInit>(_api: ApiSpec<Req, ReqInit, Res, ResInit>): Promise<Res> => {
        beats.push(timers.now())
        // The coordinator answers each heartbeat 50 ms later.
        return new Promise((resolve) => timers.setTimeout(() => resolve({ errorCode: 0 } as Res), 50))
      },
      coordinatorLost: () => undefined,
    },
    timers,
    groupId: 'g',
    intervalMs: INTERVAL_MS,
    sessionTimeoutMs: SESSION_MS,
    identity: () => ({ memberId: 'm', generationId: 1, groupInstanceId: null }),
    outcome: (action) => void outcomes.push(action),
  })
  return { heartbeater, beats, outcomes }
}

describe('the first session deadline of a generation', () => {
  it('after a SyncGroup answered 1.5 sessions after it was sent: a heartbeat at once, no presumed expiry', async () => {
    const timers = new FakeTimers(0, 100_000)
    const { heartbeater, beats, outcomes } = started(timers)
    heartbeater.start(timers.now() - 1.5 * SESSION_MS)
    await timers.advanceBy(INTERVAL_MS / 4, (3 * SESSION_MS) / (INTERVAL_MS / 4))
    assert.deepEqual(outcomes, [], 'the member kept its session')
    assert.equal(beats[0], 100_000, 'the first heartbeat went out as soon as the assignment arrived')
    assert.ok(beats.length >= (3 * SESSION_MS) / INTERVAL_MS, `heartbeats went on (${beats.length})`)
    heartbeater.stop()
  })

  it('after a SyncGroup answered at once: the deadline is a session after it was sent when no heartbeat succeeds', async () => {
    const timers = new FakeTimers(0, 100_000)
    const outcomes: string[] = []
    const heartbeater = new Heartbeater({
      transport: { send: () => new Promise(() => undefined), coordinatorLost: () => undefined },
      timers,
      groupId: 'g',
      intervalMs: INTERVAL_MS,
      sessionTimeoutMs: SESSION_MS,
      identity: () => ({ memberId: 'm', generationId: 1, groupInstanceId: null }),
      outcome: (action) => void outcomes.push(`${action}@${timers.now()}`),
    })
    const sentAt = timers.now() - 300
    heartbeater.start(sentAt)
    await timers.advance(SESSION_MS)
    await settle()
    assert.deepEqual(outcomes, [`session-expired@${sentAt + SESSION_MS}`])
  })
})
