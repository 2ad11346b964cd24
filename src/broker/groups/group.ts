/**
 * A classic group's data and the decisions that need nothing but that data: which protocols the
 * members share, which one wins the vote, whether the join phase may complete. Timers and
 * responses live in the coordinator; this file never schedules anything.
 */
import { DecodeError } from '../../protocol/errors/base.js'
import { Reader } from '../../protocol/primitives/reader.js'
import { ConsumerProtocolSubscriptionCodec } from '../../protocol/generated/index.js'
import type { Member, JoinedMember, Protocol } from './member.js'
import type { Timer } from './scheduler.js'
import { assertTransition, type GroupState } from './state.js'

export interface CommittedOffset {
  readonly offset: bigint
  readonly leaderEpoch: number
  readonly metadata: string | null
  readonly commitTimestamp: number
}

/** The protocol type of groups formed by Kafka consumers; only their metadata is parsed. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer'

export class ClassicGroup {
  state: GroupState = 'Empty'
  stateTimestamp: number
  generationId = 0
  protocolType: string | null = null
  protocolName: string | null = null
  leaderId: string | null = null
  readonly members = new Map<string, Member>()
  /** group.instance.id → the member id currently holding it (KIP-345). */
  readonly staticMembers = new Map<string, string>()
  /** Member ids handed out with MEMBER_ID_REQUIRED and not yet used, each with its expiry. */
  readonly pendingMembers = new Map<string, Timer>()
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSync = new Set<string>()
  /** topic → partition → committed offset. */
  readonly offsets = new Map<string, Map<number, CommittedOffset>>()
  /** Topics the members subscribe to (consumer protocol only); null when unknown. */
  subscribedTopics: ReadonlySet<string> | null = null
  /** The delayed completion of the join phase, while PreparingRebalance. */
  joinTimer: Timer | null = null
  /** The initial rebalance delay still to grant, and whether a member joined during the last step. */
  initialDelay: { remainingMs: number; newMemberAdded: boolean } | null = null
  syncTimer: Timer | null = null

  constructor(
    readonly groupId: string,
    now: number,
  ) {
    this.stateTimestamp = now
  }

  transitionTo(next: GroupState, now: number): void {
    this.state = assertTransition(this.groupId, this.state, next)
    this.stateTimestamp = now
  }

  is(state: GroupState): boolean {
    return this.state === state
  }

  get hasMembers(): boolean {
    return this.members.size > 0
  }

  add(member: Member): void {
    // The first member decides the group's protocol type; later ones must match it.
    if (this.members.size === 0) this.protocolType = member.protocolType
    this.members.set(member.memberId, member)
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId)
    if (this.leaderId === null) this.leaderId = member.memberId
  }

  remove(memberId: string): Member | undefined {
    const member = this.members.get(memberId)
    if (member === undefined) return undefined
    this.members.delete(memberId)
    this.pendingSync.delete(memberId)
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId)
    }
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null
    return member
  }

  /** The member id holding `instanceId`, if any. */
  staticMemberId(instanceId: string | null): string | undefined {
    return instanceId === null ? undefined : this.staticMembers.get(instanceId)
  }

  /** Moves a static member to a new member id, keeping its assignment and leadership (KIP-345). */
  replaceStaticMember(instanceId: string, oldMemberId: string, newMemberId: string): Member {
    const member = this.members.get(oldMemberId)!
    this.members.delete(oldMemberId)
    member.memberId = newMemberId
    this.members.set(newMemberId, member)
    this.staticMembers.set(instanceId, newMemberId)
    if (this.pendingSync.delete(oldMemberId)) this.pendingSync.add(newMemberId)
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId
    return member
  }

  /** The protocols every member supports, leaving out `except` (a member about to change its own). */
  candidateProtocols(except?: Member): Set<string> {
    const others = [...this.members.values()].filter((m) => m !== except)
    const first = others[0]
    if (first === undefined) return new Set()
    const candidates = new Set(first.protocols.map((p) => p.name))
    for (const member of others.slice(1)) {
      const names = new Set(member.protocols.map((p) => p.name))
      for (const name of candidates) if (!names.has(name)) candidates.delete(name)
    }
    return candidates
  }

  /**
   * Whether a member joining with these protocols can be part of the group: an empty group takes
   * any non-empty offer; otherwise the type must match and at least one protocol must be one every
   * other member supports.
   */
  supportsProtocols(protocolType: string, protocols: readonly Protocol[], joining?: Member): boolean {
    if (protocolType.length === 0 || protocols.length === 0) return false
    const others = [...this.members.values()].filter((m) => m !== joining)
    if (this.is('Empty') || others.length === 0) return true
    if (this.protocolType !== protocolType) return false
    const candidates = this.candidateProtocols(joining)
    return protocols.some((p) => candidates.has(p.name))
  }

  /** Each member votes for its favourite shared protocol; the most votes win, earliest on a tie. */
  selectProtocol(): string {
    const candidates = this.candidateProtocols()
    const votes = new Map<string, number>()
    for (const member of this.members.values()) {
      const choice = member.vote(candidates)
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1)
    }
    let best: string | undefined
    let bestVotes = 0
    for (const [name, count] of votes) {
      if (count > bestVotes) {
        best = name
        bestVotes = count
      }
    }
    // Unreachable while joins are checked with supportsProtocols: members always share one.
    if (best === undefined) throw new Error(`group ${this.groupId} has no protocol every member supports`)
    return best
  }

  /** The join phase may complete once every member waits in JoinGroup and no MEMBER_ID_REQUIRED is outstanding. */
  get hasAllMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false
    for (const member of this.members.values()) if (member.awaitingJoin === null) return false
    return true
  }

  /** The longest rebalance timeout of any member: how long the join phase waits. */
  get rebalanceTimeoutMs(): number {
    let longest = 0
    for (const member of this.members.values()) longest = Math.max(longest, member.rebalanceTimeoutMs)
    return longest
  }

  /** Keeps the leader if it rejoined, else hands leadership to a member that did. False if none did. */
  electJoinedLeader(): boolean {
    const leader = this.leaderId === null ? undefined : this.members.get(this.leaderId)
    if (leader?.awaitingJoin != null) return true
    for (const member of this.members.values()) {
      if (member.awaitingJoin !== null) {
        this.leaderId = member.memberId
        return true
      }
    }
    return false
  }

  currentMemberMetadata(): JoinedMember[] {
    const protocol = this.protocolName ?? ''
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(protocol) }))
  }

  /** Recomputed at each generation; OffsetDelete refuses topics in it (GROUP_SUBSCRIBED_TO_TOPIC). */
  computeSubscribedTopics(): ReadonlySet<string> | null {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE || this.protocolName === null) return this.members.size === 0 ? new Set() : null
    const topics = new Set<string>()
    for (const member of this.members.values()) {
      const parsed = parseSubscription(member.metadataFor(this.protocolName))
      if (parsed === null) return null
      for (const topic of parsed) topics.add(topic)
    }
    return topics
  }

  isSubscribedTo(topic: string): boolean {
    // Unknown subscriptions count as covering every topic, so offsets in use are never deleted.
    return this.subscribedTopics === null || this.subscribedTopics.has(topic)
  }

  offsetOf(topic: string, partition: number): CommittedOffset | undefined {
    return this.offsets.get(topic)?.get(partition)
  }

  setOffset(topic: string, partition: number, committed: CommittedOffset): void {
    let partitions = this.offsets.get(topic)
    if (partitions === undefined) this.offsets.set(topic, (partitions = new Map<number, CommittedOffset>()))
    partitions.set(partition, committed)
  }

  deleteOffset(topic: string, partition: number): boolean {
    const partitions = this.offsets.get(topic)
    if (partitions === undefined || !partitions.delete(partition)) return false
    if (partitions.size === 0) this.offsets.delete(topic)
    return true
  }
}

/** The topics of a consumer-protocol subscription, or null if the bytes are not one. */
export function parseSubscription(metadata: Buffer): string[] | null {
  try {
    const reader = new Reader(metadata)
    const version = reader.int16()
    if (version < 0) return null
    // Every later version extends version 0 at the end, so reading the v0 prefix works for all.
    return ConsumerProtocolSubscriptionCodec.decode(reader, 0).topics
  } catch (error) {
    if (error instanceof DecodeError) return null
    throw error
  }
}
