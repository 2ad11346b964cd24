/**
 * Invariant: the session is the coordinator's to expire. An idle member whose heartbeats all succeed
 * never presumes its session lost, whatever the ratio of heartbeat interval to session timeout, and
 * however late its timers fire: at a third (the ratio Kafka advises) and at ratios near it, for
 * several sessions, no onLost and no rejoin. The first suite runs against the embedded broker's
 * coordinator on a manual clock that fires every timer (the member's and the coordinator's) a few
 * milliseconds late, as a busy event loop does; the second checks the same on real timers over
 * real sockets.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { ClusterGroupTransport, ClusterMetadataSource } from '../../../src/client/membership/cluster-adapter.js'
import { GroupMember } from '../../../src/client/membership/member.js'
import { Cluster } from '../../../src/client/cluster.js'
import { resolveClientConfig } from '../../../src/client/config.js'
import { Harness, waitForState } from './membership-helpers.js'

const RATIOS: [sessionMs: number, heartbeatMs: number][] = [
  [6_000, 2_000],
  [6_000, 1_900],
  [6_000, 2_100],
  [6_000, 2_500],
  [10_000, 3_334],
  [900, 300],
]
const SESSIONS = 6

describe('heartbeat ratio: an idle member with late timers keeps its session', () => {
  for (const [sessionMs, heartbeatMs] of RATIOS) {
    for (const lateMs of [1, 7, 40]) {
      it(`session ${sessionMs} ms, heartbeat ${heartbeatMs} ms, timers ${lateMs} ms late: no loss over ${SESSIONS} sessions`, async () => {
        const h = await Harness.start(lateMs)
        try {
          const { member, calls } = h.member({ sessionTimeoutMs: sessionMs, heartbeatIntervalMs: heartbeatMs })
          member.subscribe(['orders'])
          await waitForState(member, 'stable')
          const generation = member.generationId
          const beatsBefore = h.wire.requests('Heartbeat').length
          await h.timers.advanceBy(heartbeatMs / 4, Math.ceil((SESSIONS * sessionMs) / (heartbeatMs / 4)))
          assert.deepEqual(calls.map((c) => c.hook), ['onAssign'], 'no onLost, no second assignment')
          assert.equal(member.state, 'stable')
          assert.equal(member.generationId, generation, 'no rejoin')
          const beats = h.wire.requests('Heartbeat').length - beatsBefore
          const expected = Math.floor((SESSIONS * sessionMs) / (heartbeatMs + lateMs))
          assert.ok(beats >= expected - 1, `heartbeats kept going (${beats} sent, about ${expected} expected)`)
        } finally {
          await h.close()
        }
      })
    }
  }
})

describe('heartbeat ratio against the embedded broker, on real timers', () => {
  let broker: EmbeddedBroker

  before(async () => {
    broker = await startBroker({ nodes: 1, autoCreateTopics: false, groups: { minSessionTimeoutMs: 500 } })
    broker.createTopic('ratio-orders', { partitions: 3 })
  })
  after(async () => {
    await broker.stop()
  })

  // Short sessions so that several pass within the test (the coordinator's minimum is lowered for them).
  for (const [sessionMs, heartbeatMs] of [[900, 300], [900, 290], [900, 320]] as const) {
    it(`session ${sessionMs} ms, heartbeat ${heartbeatMs} ms: ${SESSIONS} sessions idle with no loss`, async () => {
      const cluster = new Cluster(resolveClientConfig({ bootstrapServers: broker.bootstrap, clientId: 'ratio' }))
      const transport = new ClusterGroupTransport(cluster, `ratio-${heartbeatMs}`, 10_000)
      const lost: number[] = []
      const assigned: number[] = []
      const member = new GroupMember({
        groupId: `ratio-${heartbeatMs}`,
        transport,
        metadata: new ClusterMetadataSource(cluster),
        sessionTimeoutMs: sessionMs,
        heartbeatIntervalMs: heartbeatMs,
        rebalanceTimeoutMs: 5_000,
        hooks: {
          onAssign: () => void assigned.push(Date.now()),
          onLost: () => void lost.push(Date.now()),
        },
      })
      try {
        member.subscribe(['ratio-orders'])
        await waitForState(member, 'stable', 10_000)
        const generation = member.generationId
        // Idle for several sessions: the only thing that can end the membership is a false expiry.
        await new Promise((resolve) => setTimeout(resolve, SESSIONS * sessionMs))
        assert.deepEqual(lost, [], 'onLost was never called')
        assert.equal(assigned.length, 1, 'assigned once, never again')
        assert.equal(member.state, 'stable')
        assert.equal(member.generationId, generation, 'no rebalance')
      } finally {
        await member.close()
        await transport.close()
        await cluster.close()
      }
    })
  }
})
