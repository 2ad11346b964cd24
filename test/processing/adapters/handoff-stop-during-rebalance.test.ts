/**
 * Invariant: a graceful `app.stop()` commits what its handlers finished even when it comes in the
 * middle of a cooperative rebalance (another member joined or left): while this member's JoinGroup
 * is out, between its join and sync responses, or in the second round after it revoked a
 * partition. The final commit is accepted (the committed offset is the one after the last finished
 * record), the stop ends with exit code 0, and the partitions' next owner processes nothing twice.
 *
 * The broker holds the responses of one group API (fault injection) so that the phase lasts long
 * enough for the stop's drain and commit to start inside it; the test checks that they did.
 */
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { describe, it } from 'node:test'
import type { MembershipState as MemberState } from '../../../src/client/membership/group-membership.js'
import { CHANNELS, type RevokingEvent } from '../../../src/processing/instrumentation.js'
import type { RunResult } from '../../../src/processing/app.js'
import { JoinGroup, SyncGroup } from '../../../src/protocol/generated/index.js'
import { aborted, Gate, suiteBroker, type Group, type RunningApp } from './harness.js'

const PARTITIONS = 2
const PER_PARTITION = 10
/** Each partition's handler holds this record until its revocation starts: it is in flight when the stop comes. */
const HELD = 5n
/** How long the broker holds each response of the delayed API: the phase's minimum length. */
const HOLD_MS = 500
/** Interval commits are kept out of the way, so the hand-offs' commits are the only ones. */
const NO_INTERVAL_COMMITS = { commitIntervalMs: 600_000 }

interface Phase {
  /** The group API whose responses the broker holds back. */
  readonly api: typeof JoinGroup | typeof SyncGroup
  /** The member state the stop comes in. */
  readonly state: MemberState
  /** Whether this transition of the member being stopped starts the phase; `history` is every transition since the rebalance began. */
  readonly starts: (to: MemberState, from: MemberState, history: readonly MemberState[]) => boolean
  /**
   * When the handlers in flight finish: as soon as the stop's hand-off starts (default), or only
   * once the rebalance has completed and the member is revoking a partition from it, so that the
   * drain outlasts the rebalance.
   */
  readonly finish?: 'at-once' | 'after-the-rebalance'
}

describe('app.stop() during a cooperative rebalance', () => {
  const suite = suiteBroker()
  const group = (topic: string): Promise<Group> => suite.group(topic, PARTITIONS, PER_PARTITION)

  /**
   * Starts `a`, whose handler holds offset HELD of each partition until the partition starts being
   * handed off (or, with `finish: 'after-the-rebalance'`, until `rebalanced` opens).
   */
  async function startHolding(g: Group, finish: Phase['finish'], rebalanced: Gate, held: Set<number>): Promise<RunningApp> {
    return g.start(
      'a',
      async (record, ctx) => {
        if (record.offset !== HELD) return
        held.add(record.partition)
        g.condition.poke()
        // Finishes as soon as its partition starts being handed off, well within the drain deadline,
        // or (ignoring that) once the rebalance has completed.
        await (finish === 'after-the-rebalance' ? rebalanced.wait() : aborted(ctx.revokingSignal))
      },
      NO_INTERVAL_COMMITS,
    )
  }

  /**
   * Runs `trigger` (which starts a rebalance) and stops `a` as soon as its member enters `phase`,
   * with the broker holding `phase.api`'s responses meanwhile. Checks that the stop, its hand-off
   * and its commit came in that phase and that the stop was clean.
   */
  async function stopInPhase(g: Group, a: RunningApp, phase: Phase, rebalanced: Gate, trigger: () => Promise<void>): Promise<void> {
    let stopping: Promise<RunResult> | undefined
    let stoppedIn: MemberState | undefined
    // Where a's member is whenever a's stop starts a hand-off and whenever a commits.
    const handOffStates: MemberState[] = []
    const commitStates: MemberState[] = []
    const onRevoking = (message: unknown): void => {
      const event = message as RevokingEvent
      // Other members of the group stop too (b leaving); only a's stop counts.
      if (event.groupId === g.groupId && event.reason === 'shutdown' && stoppedIn !== undefined) handOffStates.push(a.consumer.state)
    }
    diagnostics.subscribe(CHANNELS.revoking, onRevoking)
    const commit = a.consumer.commit.bind(a.consumer)
    a.consumer.commit = (offsets) => {
      commitStates.push(a.consumer.state)
      return commit(offsets)
    }

    const release = suite.broker().faults.delay(phase.api, HOLD_MS)
    const history: MemberState[] = []
    const unlisten = a.consumer.onStateChange((to, from) => {
      history.push(to)
      // The SyncGroup was answered; the member runs onRevoke for a partition that moves right
      // after this transition, within the same turn of the event loop, so the next turn finds it there.
      if (to === 'assigning' && stopping !== undefined) setImmediate(() => rebalanced.open())
      if (stopping !== undefined || !phase.starts(to, from, history)) return
      // Not from inside the member's own transition: a microtask later, still in the same phase.
      stopping = Promise.resolve().then(() => {
        stoppedIn = a.consumer.state
        return g.stop(a)
      })
      g.condition.poke()
    })
    let result: RunResult
    try {
      await trigger()
      await g.condition.until(() => stopping !== undefined, `a reaches the phase (${phase.state})`)
      result = await stopping!
    } finally {
      release()
      unlisten()
      diagnostics.unsubscribe(CHANNELS.revoking, onRevoking)
    }

    assert.equal(stoppedIn, phase.state, 'the stop came in the phase under test')
    assert.deepEqual(handOffStates, [phase.state], "the stop's hand-off started in that phase")
    const commitIn = phase.finish === 'after-the-rebalance' ? 'assigning' : phase.state
    assert.ok(commitStates.includes(commitIn), `the stop's commit was made in ${commitIn} (commits made in: ${commitStates.join(', ')})`)
    assert.deepEqual([result.exitCode, result.aborted, result.error], [0, 0, undefined], 'a graceful stop, everything committed')
    const handedOff = g.revoked.filter((e) => e.partitions.length > 0)
    assert.deepEqual(
      handedOff.map((e) => e.commitError),
      handedOff.map(() => undefined),
      'no hand-off commit was refused',
    )
  }

  /** What the group has committed, by partition. */
  async function committed(g: Group): Promise<Array<[number, bigint]>> {
    return [...(await g.committedOffsets(PARTITIONS))].sort(([p], [q]) => p - q)
  }

  function assertHandledBy(g: Group, by: (partition: number, offset: bigint) => string): void {
    assert.deepEqual(g.tally(PARTITIONS, PER_PARTITION), { duplicates: [], missing: [] }, 'the next owner processed nothing twice and skipped nothing')
    for (const [key, handlers] of g.handled) {
      const [partition, offset] = key.split(':')
      assert.deepEqual(handlers, [by(Number(partition), BigInt(offset!))], `${key}: handled by whom`)
    }
  }

  /**
   * `a` owns both partitions with a handler in flight on each; `b` joins, which starts a
   * cooperative rebalance; `a` is stopped when `phase` starts.
   */
  async function stopWhileAnotherJoins(topic: string, phase: Phase): Promise<Group> {
    const g = await group(topic)
    const held = new Set<number>()
    const rebalanced = new Gate()
    const a = await startHolding(g, phase.finish, rebalanced, held)
    await g.condition.until(() => held.size === PARTITIONS && g.stable(a), 'a is stable with a handler in flight on each partition')
    assert.equal(g.committed.length, 0, 'nothing committed before the rebalance')

    let b: RunningApp | undefined
    await stopInPhase(g, a, phase, rebalanced, async () => {
      b = await g.start('b', () => Promise.resolve(), NO_INTERVAL_COMMITS)
    })
    // b commits nothing before it stops, so what the group holds now is what a committed.
    assert.deepEqual(await committed(g), Array.from({ length: PARTITIONS }, (_, p) => [p, HELD + 1n]), 'committed just past the record each partition had in flight')

    await g.condition.until(() => g.handled.size === PARTITIONS * PER_PARTITION, 'b handles the rest')
    await g.stop(b!)
    assertHandledBy(g, (_, offset) => (offset <= HELD ? 'a' : 'b'))
    return g
  }

  it('stop while the JoinGroup is out: the commit is accepted and nothing is processed twice', async () => {
    await stopWhileAnotherJoins('stop-joining', { api: JoinGroup, state: 'joining', starts: (to, from) => to === 'joining' && from === 'stable' })
  })

  it('stop while the JoinGroup is out, with handlers that finish only after the rebalance: the partition moving away is released after the commit', async () => {
    await stopWhileAnotherJoins('stop-joining-slow-drain', {
      api: JoinGroup,
      state: 'joining',
      starts: (to, from) => to === 'joining' && from === 'stable',
      finish: 'after-the-rebalance',
    })
  })

  it('stop between the join response and the sync response: the commit is accepted and nothing is processed twice', async () => {
    await stopWhileAnotherJoins('stop-syncing', { api: SyncGroup, state: 'syncing', starts: (to) => to === 'syncing' })
  })

  it('stop in the second round of a cooperative rebalance, after revoking a partition: the commit is accepted and nothing is processed twice', async () => {
    const g = await stopWhileAnotherJoins('stop-second-round', {
      api: JoinGroup,
      state: 'joining',
      // The first round ended in `assigning` (a partition revoked and handed off); the member rejoins for the second.
      starts: (to, from, history) => to === 'joining' && from === 'stable' && history.includes('assigning'),
    })
    // a's two hand-offs come first; b's at its own stop, last.
    assert.deepEqual(
      g.revoked.slice(0, 2).map((e) => [e.reason, e.partitions.length, e.committed.map((c) => c.offset)]),
      [
        ['rebalance', 1, [HELD + 1n]],
        ['shutdown', 1, [HELD + 1n]],
      ],
      'the first round handed one partition off, the stop in the second round the other',
    )
  })

  it('stop while the JoinGroup is out after another member left: the commit is accepted and nothing is processed twice', async () => {
    const g = await group('stop-after-leave')
    const held = new Set<number>()
    const rebalanced = new Gate()
    const a = await startHolding(g, 'at-once', rebalanced, held)
    await g.condition.until(() => held.size === PARTITIONS && g.stable(a), 'a is stable with a handler in flight on each partition')
    // b joins and takes one partition from a (whose handler there finishes and is committed), and finishes it.
    const b = await g.start('b', () => Promise.resolve(), NO_INTERVAL_COMMITS)
    await g.condition.until(() => g.stable(a, b) && g.owners(b) === 1 && g.owners(a) === 1, 'a and b own one partition each')
    const moved = b.consumer.assignment()[0]!.partition
    const kept = a.consumer.assignment()[0]!.partition
    await g.condition.until(() => g.handled.has(`${moved}:${PER_PARTITION - 1}`), 'b handles the rest of the partition it got')
    assert.ok(!g.handled.has(`${kept}:${HELD}`), "a's handler is still in flight on the partition it kept")

    // b leaves (a graceful stop: it commits, then sends LeaveGroup), and the group rebalances for a.
    await stopInPhase(g, a, { api: JoinGroup, state: 'joining', starts: (to, from) => to === 'joining' && from === 'stable' }, rebalanced, async () => {
      assert.equal((await g.stop(b)).exitCode, 0)
    })
    assert.deepEqual(
      await committed(g),
      Array.from({ length: PARTITIONS }, (_, p) => [p, p === moved ? BigInt(PER_PARTITION) : HELD + 1n]),
      'a committed just past the record it had in flight; b everything of its partition',
    )

    const c = await g.start('c', () => Promise.resolve(), NO_INTERVAL_COMMITS)
    await g.condition.until(() => g.handled.size === PARTITIONS * PER_PARTITION, 'c handles the rest')
    await g.stop(c)
    assertHandledBy(g, (partition, offset) => (offset <= HELD ? 'a' : partition === moved ? 'b' : 'c'))
  })
})
