/**
 * One member of a classic group as the coordinator tracks it, and the results the coordinator
 * hands back for JoinGroup and SyncGroup (plain values; the handlers turn them into responses).
 */
import type { Timer } from './scheduler.js'

export interface Protocol {
  readonly name: string
  readonly metadata: Buffer
}

export interface JoinedMember {
  readonly memberId: string
  readonly groupInstanceId: string | null
  readonly metadata: Buffer
}

export interface JoinResult {
  readonly errorCode: number
  readonly generationId: number
  readonly protocolType: string | null
  readonly protocolName: string | null
  readonly leader: string
  readonly memberId: string
  /** Every member's metadata for the chosen protocol; only the leader gets it. */
  readonly members: readonly JoinedMember[]
  /** KIP-814: a static leader rejoining a stable group must not compute a new assignment. */
  readonly skipAssignment: boolean
}

export interface SyncResult {
  readonly errorCode: number
  readonly protocolType: string | null
  readonly protocolName: string | null
  readonly assignment: Buffer
}

export const EMPTY_BYTES: Buffer = Buffer.alloc(0)

/** Kafka's "no generation" value, reported with every failed join. */
export const NO_GENERATION = -1

export function joinError(errorCode: number, memberId: string): JoinResult {
  return { errorCode, generationId: NO_GENERATION, protocolType: null, protocolName: null, leader: '', memberId, members: [], skipAssignment: false }
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES }
}

export class Member {
  memberId: string
  readonly groupInstanceId: string | null
  clientId: string
  clientHost: string
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  protocolType: string
  protocols: readonly Protocol[]
  assignment: Buffer = EMPTY_BYTES
  /** Set while the member's JoinGroup waits for the join phase to complete. */
  awaitingJoin: ((result: JoinResult) => void) | null = null
  /** Set while the member's SyncGroup waits for the leader's assignment. */
  awaitingSync: ((result: SyncResult) => void) | null = null
  /**
   * A member that has not yet completed a join. It expires on the new-member timeout even while its
   * JoinGroup waits (KIP-394), so a client that vanished mid-join does not hold the rebalance up.
   */
  isNew = false
  sessionTimer: Timer | null = null

  constructor(init: {
    memberId: string
    groupInstanceId: string | null
    clientId: string
    clientHost: string
    sessionTimeoutMs: number
    rebalanceTimeoutMs: number
    protocolType: string
    protocols: readonly Protocol[]
  }) {
    this.memberId = init.memberId
    this.groupInstanceId = init.groupInstanceId
    this.clientId = init.clientId
    this.clientHost = init.clientHost
    this.sessionTimeoutMs = init.sessionTimeoutMs
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs
    this.protocolType = init.protocolType
    this.protocols = init.protocols
  }

  get isStatic(): boolean {
    return this.groupInstanceId !== null
  }

  metadataFor(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES
  }

  /** The member's most preferred protocol among those every member supports. */
  vote(candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name
  }

  /** Same protocols, in the same order, with the same metadata: a rejoin that changes nothing. */
  sameProtocols(protocols: readonly Protocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false
    return protocols.every((p, i) => p.name === this.protocols[i]!.name && p.metadata.equals(this.protocols[i]!.metadata))
  }
}
