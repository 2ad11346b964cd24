/**
 * Random interleavings of joins, syncs, heartbeats, commits, leaves and clock jumps by a few
 * clients (two of them static). Invariants, whatever the order:
 * - the coordinator never throws (in particular never attempts a transition Kafka forbids);
 * - a member only ever receives the assignment the leader made for it (no partition is handed to
 *   two members of one generation);
 * - generations never go back, and a commit is accepted only for the current generation;
 * - once time passes with nobody acting, every JoinGroup and SyncGroup has been answered and the
 *   group is Empty.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { KafkaErrorCode as E } from '../../../src/protocol/errors/kafka-errors.js'
import { flush, harness, joinRequest, track, type Tracked } from './helpers/harness.js'
import type { JoinResult, SyncResult } from '../../../src/broker/groups/member.js'

const CLIENTS = 4
const SESSION = 10_000
const REBALANCE = 20_000

type Op =
  /** A client joins when it must (new, or told to rejoin); with `force` it rejoins anyway. */
  | { kind: 'join'; client: number; knownIdFirst: boolean; force: boolean }
  | { kind: 'sync' | 'heartbeat' | 'commit' | 'leave'; client: number }
  | { kind: 'advance'; ms: number }

// Weighted so that groups often get as far as a stable generation before something disturbs them.
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('join' as const), client: fc.nat(CLIENTS - 1), knownIdFirst: fc.nat(5).map((n) => n > 0), force: fc.nat(9).map((n) => n === 0) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sync' as const), client: fc.nat(CLIENTS - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('heartbeat' as const, 'commit' as const), client: fc.nat(CLIENTS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), client: fc.nat(CLIENTS - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 25_000 })) }) },
)

interface Client {
  memberId: string
  joined: JoinResult | null
  pendingJoin: Tracked<JoinResult> | null
  pendingSync: Tracked<SyncResult> | null
  /** Told by an error that its generation is over. */
  mustRejoin: boolean
}

describe('group coordinator under random interleavings', () => {
  it('keeps its invariants', async () => {
    const stats = { assigned: 0 }
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 80, size: 'max' }), async (ops) => {
        const { coordinator, clock } = harness()
        const clients: Client[] = Array.from({ length: CLIENTS }, () => ({ memberId: '', joined: null, pendingJoin: null, pendingSync: null, mustRejoin: false }))
        const instanceOf = (i: number): string | null => (i < 2 ? `static-${i}` : null)
        /** The client a member id belongs to, so assignments can be checked against their owner. */
        const owner = new Map<string, number>()
        const outstanding: Tracked<unknown>[] = []
        let lastGeneration = 0

        const settle = (): void => {
          for (const [i, c] of clients.entries()) {
            if (c.pendingJoin?.done === true) {
              const r = c.pendingJoin.value!
              c.pendingJoin = null
              c.mustRejoin = false
              if (r.errorCode === E.NONE) {
                c.memberId = r.memberId
                c.joined = r
                owner.set(r.memberId, i)
              } else if (r.errorCode === E.MEMBER_ID_REQUIRED) c.memberId = r.memberId
              else if (r.errorCode === E.UNKNOWN_MEMBER_ID || r.errorCode === E.FENCED_INSTANCE_ID) {
                c.memberId = ''
                c.joined = null
              }
            }
            if (c.pendingSync?.done === true) {
              const r = c.pendingSync.value!
              c.pendingSync = null
              if (r.errorCode !== E.NONE) c.mustRejoin = true
              if (r.errorCode === E.NONE && r.assignment.length > 0) stats.assigned++
              if (r.errorCode === E.NONE && r.assignment.length > 0) assert.equal(r.assignment.toString(), `client-${i}`, 'a member got an assignment made for another')
            }
          }
        }

        for (const step of ops) {
          if (step.kind === 'advance') clock.advance(step.ms)
          else {
            const c = clients[step.client]!
            const instance = instanceOf(step.client)
            const generationId = c.joined?.generationId ?? -1
            switch (step.kind) {
              case 'join': {
                if (c.pendingJoin !== null || (c.joined !== null && !c.mustRejoin && !step.force)) break
                const memberId = step.knownIdFirst ? c.memberId : ''
                const join = track(coordinator.join(joinRequest({ memberId, groupInstanceId: instance, clientId: `client-${step.client}`, requireKnownMemberId: true, sessionTimeoutMs: SESSION, rebalanceTimeoutMs: REBALANCE })))
                c.pendingJoin = join
                outstanding.push(join)
                break
              }
              case 'sync': {
                if (c.joined === null || c.pendingSync !== null) break
                const isLeader = c.joined.leader === c.memberId
                const assignments = isLeader ? c.joined.members.map((m) => ({ memberId: m.memberId, assignment: Buffer.from(`client-${owner.get(m.memberId) ?? -1}`) })) : []
                const sync = track(coordinator.sync({ groupId: 'g', generationId, memberId: c.memberId, groupInstanceId: instance, protocolType: null, protocolName: null, assignments }))
                c.pendingSync = sync
                outstanding.push(sync)
                break
              }
              case 'heartbeat':
                if (coordinator.heartbeat({ groupId: 'g', generationId, memberId: c.memberId, groupInstanceId: instance }) !== E.NONE) c.mustRejoin = true
                break
              case 'commit': {
                const [code] = coordinator.commitOffsets({
                  groupId: 'g',
                  generationId,
                  memberId: c.memberId,
                  groupInstanceId: instance,
                  offsets: [{ topic: 't', partition: step.client, offset: 1n, leaderEpoch: -1, metadata: null, commitTimestamp: -1 }],
                })
                if (code === E.NONE && generationId >= 0) assert.equal(generationId, coordinator.generationOf('g'), 'a commit was accepted for a stale generation')
                break
              }
              case 'leave':
                coordinator.leave('g', [{ memberId: c.memberId, groupInstanceId: instance }])
                c.joined = null
                c.memberId = ''
                break
            }
          }
          await flush()
          settle()
          const generation = coordinator.generationOf('g') ?? 0
          assert.ok(generation >= lastGeneration, 'generations never go back')
          lastGeneration = generation
        }
        clock.advance(10 * (SESSION + REBALANCE))
        await flush()
        settle()
        assert.deepEqual(
          outstanding.filter((t) => !t.done),
          [],
          'every JoinGroup and SyncGroup was answered',
        )
        const state = coordinator.groupState('g')
        assert.ok(state === undefined || state === 'Empty', `an idle group ends Empty, not ${state}`)
        coordinator.close()
      }),
      { numRuns: 300 },
    )
    // Guards the generator: the runs must reach the assignments the invariants are about.
    assert.ok(stats.assigned > 100, `only ${stats.assigned} assignments were delivered`)
  })
})
