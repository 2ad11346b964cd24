/**
 * DescribeGroups, ListGroups and DeleteGroups: what administrators see of the groups and the one
 * way to remove them.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import type { ConsumerGroupState } from './consumer/group.js'
import type { CoordinatorState } from './membership.js'
import { EMPTY_BYTES } from './member.js'
import { parseGroupState, type GroupState } from './state.js'

export interface DescribedMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly clientId: string
  readonly clientHost: string
  readonly metadata: Buffer
  readonly assignment: Buffer
}

export interface DescribedGroup {
  readonly groupId: string
  readonly errorCode: number
  readonly state: GroupState | ConsumerGroupState
  readonly protocolType: string
  /** The chosen protocol, reported only for a stable group, as Kafka does. */
  readonly protocol: string
  readonly members: readonly DescribedMember[]
}

export interface ListedGroup {
  readonly groupId: string
  readonly protocolType: string
  readonly state: GroupState | ConsumerGroupState
  /** KIP-848's group types: "classic" (JoinGroup/SyncGroup) or "consumer" (ConsumerGroupHeartbeat). */
  readonly groupType: 'classic' | 'consumer'
}

const E = KafkaErrorCode

export function describeGroup(state: CoordinatorState, groupId: string): DescribedGroup {
  const group = state.groups.get(groupId)
  if (group === undefined) return { groupId, errorCode: E.NONE, state: 'Dead', protocolType: '', protocol: '', members: [] }
  // Metadata and assignments belong to a generation; only a stable group has a settled one.
  const stable = group.is('Stable')
  const protocol = stable ? (group.protocolName ?? '') : ''
  return {
    groupId,
    errorCode: E.NONE,
    state: group.state,
    protocolType: group.protocolType ?? '',
    protocol,
    members: [...group.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      metadata: stable ? m.metadataFor(protocol) : EMPTY_BYTES,
      assignment: stable ? m.assignment : EMPTY_BYTES,
    })),
  }
}

/**
 * Groups matching the filters (each empty = no filter). States match case-insensitively (KIP-518);
 * an unknown state name matches nothing.
 */
export function listGroups(state: CoordinatorState, statesFilter: readonly string[], typesFilter: readonly string[], include: (groupId: string) => boolean): ListedGroup[] {
  const states = new Set(statesFilter.map(parseGroupState))
  if (typesFilter.length > 0 && !typesFilter.some((t) => t.toLowerCase() === 'classic')) return []
  const listed: ListedGroup[] = []
  for (const group of state.groups.values()) {
    if (group.is('Dead') || !include(group.groupId)) continue
    if (states.size > 0 && !states.has(group.state)) continue
    listed.push({ groupId: group.groupId, protocolType: group.protocolType ?? '', state: group.state, groupType: 'classic' })
  }
  return listed
}

/** Deletes an empty group with its offsets; a group with members is refused with NON_EMPTY_GROUP. */
export function deleteGroup(state: CoordinatorState, groupId: string): number {
  if (groupId.length === 0) return E.INVALID_GROUP_ID
  const group = state.groups.get(groupId)
  if (group === undefined || group.is('Dead')) return E.GROUP_ID_NOT_FOUND
  if (!group.is('Empty')) return E.NON_EMPTY_GROUP
  for (const timer of group.pendingMembers.values()) timer.cancel()
  group.pendingMembers.clear()
  group.joinTimer?.cancel()
  group.transitionTo('Dead', state.config.scheduler.now())
  state.groups.delete(groupId)
  state.store.deleteGroup(groupId)
  return E.NONE
}
