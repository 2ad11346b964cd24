/**
 * The classic group's states and the transitions Apache Kafka allows between them. Every state
 * change goes through `assertTransition`, so a coordinator bug shows up as a typed error at the
 * faulty step instead of as a group quietly stuck in an impossible state.
 */
import { BatonError } from '../../protocol/errors/base.js'

/** Spelled as Kafka reports them in DescribeGroups and ListGroups. */
export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead'

export const GROUP_STATES: readonly GroupState[] = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead']

/** For each state, the states a group may enter it from (Kafka's ClassicGroupState). */
const VALID_PREVIOUS: Readonly<Record<GroupState, readonly GroupState[]>> = {
  // Every member left or was evicted while the group was gathering joins.
  Empty: ['PreparingRebalance'],
  // A join, a leave or an eviction starts a rebalance from any live state but itself.
  PreparingRebalance: ['Empty', 'Stable', 'CompletingRebalance'],
  // The join phase completed with members: the leader now owes the assignment.
  CompletingRebalance: ['PreparingRebalance'],
  // The leader's SyncGroup delivered the assignment.
  Stable: ['CompletingRebalance'],
  // Deletion or unload; Dead to Dead lets repeated removals stay idempotent.
  Dead: ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'],
}

export class GroupStateError extends BatonError {
  constructor(
    readonly groupId: string,
    readonly from: GroupState,
    readonly to: GroupState,
  ) {
    super('GROUP_INVALID_TRANSITION', `group ${groupId} cannot move from ${from} to ${to}; this is a coordinator bug, please report it`)
  }
}

export function canTransition(from: GroupState, to: GroupState): boolean {
  return VALID_PREVIOUS[to].includes(from)
}

/** Returns `to` when the move is allowed, throws GroupStateError otherwise. */
export function assertTransition(groupId: string, from: GroupState, to: GroupState): GroupState {
  if (!canTransition(from, to)) throw new GroupStateError(groupId, from, to)
  return to
}

/** ListGroups' states filter is case-insensitive in Kafka (KIP-518); null for an unknown name. */
export function parseGroupState(name: string): GroupState | null {
  const lower = name.toLowerCase()
  return GROUP_STATES.find((s) => s.toLowerCase() === lower) ?? null
}
