/**
 * A KIP-848 member's lifecycle, after Apache Kafka's new consumer: every change goes through
 * `transitionTo`, which refuses transitions not listed here.
 *
 *   unjoined ─► joining ─► reconciling ─► stable ─► reconciling (a new assignment) ─► stable …
 *                  ▲            │            │
 *                  └── lost ◄───┴────────────┘  (fenced epoch, unknown member, session expired)
 *   any live state ─► leaving ─► closed;  fatal ─► closed
 *
 * There is no join/sync round: the coordinator computes assignments and hands them out in heartbeat
 * answers, and the member reconciles them (onRevoke, then onAssign) and acknowledges with its next
 * heartbeat.
 */
import { InvalidTransitionError } from '../errors.js'

export type ConsumerMemberState =
  /** Not in the group yet. */
  | 'unjoined'
  /** The joining heartbeat (epoch 0) is out; no assignment yet. */
  | 'joining'
  /** An assignment arrived: onRevoke for what goes, onAssign for what comes, then an acknowledging heartbeat. */
  | 'reconciling'
  /** Owns what the coordinator assigned, heartbeating. */
  | 'stable'
  /** The member was fenced or its session expired: onLost runs, then it joins again with epoch 0. */
  | 'lost'
  /** close(): onRevoke, then the leaving heartbeat (epoch -1, or -2 for a static member). */
  | 'leaving'
  | 'fatal'
  | 'closed'

const TRANSITIONS: Readonly<Record<ConsumerMemberState, readonly ConsumerMemberState[]>> = {
  unjoined: ['joining', 'leaving', 'closed'],
  joining: ['reconciling', 'lost', 'fatal', 'leaving'],
  reconciling: ['stable', 'reconciling', 'lost', 'fatal', 'leaving'],
  stable: ['reconciling', 'lost', 'fatal', 'leaving'],
  lost: ['joining', 'fatal', 'leaving'],
  leaving: ['closed'],
  fatal: ['closed'],
  closed: [],
}

export function canTransitionConsumer(from: ConsumerMemberState, to: ConsumerMemberState): boolean {
  return TRANSITIONS[from].includes(to)
}

export type ConsumerStateListener = (to: ConsumerMemberState, from: ConsumerMemberState) => void

export class ConsumerMemberStateMachine {
  private current: ConsumerMemberState = 'unjoined'
  private readonly listeners = new Set<ConsumerStateListener>()

  get state(): ConsumerMemberState {
    return this.current
  }

  /** @throws InvalidTransitionError if `next` is not reachable from the current state. */
  transitionTo(next: ConsumerMemberState): void {
    const from = this.current
    if (!canTransitionConsumer(from, next)) throw new InvalidTransitionError(from, next)
    this.current = next
    for (const listener of this.listeners) listener(next, from)
  }

  onChange(listener: ConsumerStateListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }
}
