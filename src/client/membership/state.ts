/**
 * The member's lifecycle as an explicit state machine, after Apache Kafka's new consumer: every
 * change goes through `transitionTo`, which refuses any transition not listed below, so a
 * rebalance path that was never designed fails loudly instead of drifting into a state where two
 * members believe they own one partition.
 *
 *   unjoined ─► joining ─► syncing ─► assigning ─► stable
 *                  ▲  ▲        │           │          │
 *                  │  └────────┘ (rejoin)  │          ├─► revoking ─► joining   (eager: revoke all first)
 *                  │                       └──────────┴─► joining               (cooperative: keep owned)
 *                  └──── lost ◄── (fenced, session expired: partitions gone without a commit)
 *   any live state ─► leaving ─► closed;  fatal ─► closed
 */
import { InvalidTransitionError } from './errors.js'

export type MemberState =
  /** Not in the group: before the first join, or after a leave with a later rejoin pending. */
  | 'unjoined'
  /** JoinGroup in flight (including the MEMBER_ID_REQUIRED round trip, KIP-394). */
  | 'joining'
  /** SyncGroup in flight; the leader has run the assignor. */
  | 'syncing'
  /** An assignment arrived; onRevoke (cooperative) and onAssign are running. */
  | 'assigning'
  /** Owns its assignment, heartbeating. */
  | 'stable'
  /** A rebalance is due and the eager protocol revokes everything before rejoining; onRevoke is running. */
  | 'revoking'
  /** Membership was lost (fenced, unknown member, session expired); onLost is running. */
  | 'lost'
  /** close() was called: onRevoke, then LeaveGroup. */
  | 'leaving'
  /** Cannot continue (e.g. another instance took this group.instance.id). */
  | 'fatal'
  | 'closed'

const TRANSITIONS: Readonly<Record<MemberState, readonly MemberState[]>> = {
  unjoined: ['joining', 'leaving', 'closed'],
  joining: ['joining', 'syncing', 'lost', 'fatal', 'leaving'],
  syncing: ['joining', 'assigning', 'lost', 'fatal', 'leaving'],
  assigning: ['stable', 'joining', 'lost', 'fatal', 'leaving'],
  stable: ['revoking', 'joining', 'lost', 'fatal', 'leaving'],
  revoking: ['joining', 'lost', 'fatal', 'leaving'],
  lost: ['joining', 'fatal', 'leaving'],
  leaving: ['closed'],
  fatal: ['closed'],
  closed: [],
}

export function canTransition(from: MemberState, to: MemberState): boolean {
  return TRANSITIONS[from].includes(to)
}

export const MEMBER_STATES: readonly MemberState[] = Object.keys(TRANSITIONS) as MemberState[]

/** States in which the member has a generation the coordinator accepts commits from. */
export function hasValidGeneration(state: MemberState): boolean {
  return state === 'stable' || state === 'assigning' || state === 'revoking' || state === 'leaving'
}

export type StateListener = (to: MemberState, from: MemberState) => void

export class MemberStateMachine {
  private current: MemberState = 'unjoined'
  private readonly listeners = new Set<StateListener>()

  get state(): MemberState {
    return this.current
  }

  /** @throws InvalidTransitionError if `next` is not reachable from the current state. */
  transitionTo(next: MemberState): void {
    const from = this.current
    if (!canTransition(from, next)) throw new InvalidTransitionError(from, next)
    this.current = next
    for (const listener of this.listeners) listener(next, from)
  }

  /** Returns a function that removes the listener. */
  onChange(listener: StateListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
