/**
 * The consumer protocol: what a consumer puts in JoinGroup's protocol metadata (its subscription)
 * and what the leader puts in SyncGroup (each member's assignment). Both are opaque bytes to the
 * coordinator, prefixed with an int16 version.
 *
 * A member may run a newer client than ours and send a version we do not know. Kafka's clients read
 * such bytes with the newest schema they know and ignore what follows, which works because every
 * version only appends fields; we do the same, so a mixed group keeps working across upgrades.
 */
import { DecodeError } from '../../protocol/errors/base.js'
import {
  ConsumerProtocolAssignmentCodec,
  ConsumerProtocolAssignmentVersions,
} from '../../protocol/generated/consumer-protocol-assignment.js'
import {
  ConsumerProtocolSubscriptionCodec,
  ConsumerProtocolSubscriptionVersions,
} from '../../protocol/generated/consumer-protocol-subscription.js'
import { Reader } from '../../protocol/primitives/reader.js'
import { Writer } from '../../protocol/primitives/writer.js'
import { ConsumerProtocolError } from './errors.js'
import type { TopicPartitions } from './topic-partitions.js'

/** The protocol type every consumer group member announces in JoinGroup. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer'

/** A member's subscription. `generationId` is -1 when the member has none (or sent a version below 2). */
export interface Subscription {
  topics: readonly string[]
  userData: Buffer | null
  /** Partitions the member still owns while it joins; sent from v1 on, used by cooperative rebalancing (KIP-429). */
  ownedPartitions: readonly TopicPartitions[]
  generationId: number
  rackId: string | null
}

export interface DecodedSubscription extends Subscription {
  /** The version the sender wrote, which may be newer than the one we read with. */
  version: number
}

export interface Assignment {
  partitions: readonly TopicPartitions[]
  userData: Buffer | null
}

export interface DecodedAssignment extends Assignment {
  version: number
}

export const LATEST_SUBSCRIPTION_VERSION = ConsumerProtocolSubscriptionVersions.max
export const LATEST_ASSIGNMENT_VERSION = ConsumerProtocolAssignmentVersions.max

export function encodeSubscription(subscription: Partial<Subscription> & Pick<Subscription, 'topics'>, version: number = LATEST_SUBSCRIPTION_VERSION): Buffer {
  checkVersion('subscription', version, LATEST_SUBSCRIPTION_VERSION)
  const w = new Writer(64)
  w.int16(version)
  ConsumerProtocolSubscriptionCodec.encode(
    w,
    {
      topics: subscription.topics,
      userData: subscription.userData ?? null,
      // Older versions cannot carry these; dropping them is what the version means, not an error.
      ownedPartitions: version >= 1 ? (subscription.ownedPartitions ?? []) : [],
      generationId: version >= 2 ? (subscription.generationId ?? -1) : -1,
      rackId: version >= 3 ? (subscription.rackId ?? null) : null,
    },
    version,
  )
  return w.finish()
}

export function decodeSubscription(bytes: Buffer): DecodedSubscription {
  return decodeVersioned('subscription', bytes, LATEST_SUBSCRIPTION_VERSION, (r, v) => {
    const s = ConsumerProtocolSubscriptionCodec.decode(r, v)
    return { topics: s.topics, userData: s.userData, ownedPartitions: s.ownedPartitions, generationId: s.generationId, rackId: s.rackId }
  })
}

export function encodeAssignment(assignment: Assignment, version: number = LATEST_ASSIGNMENT_VERSION): Buffer {
  checkVersion('assignment', version, LATEST_ASSIGNMENT_VERSION)
  const w = new Writer(64)
  w.int16(version)
  ConsumerProtocolAssignmentCodec.encode(w, { assignedPartitions: assignment.partitions, userData: assignment.userData }, version)
  return w.finish()
}

/**
 * Zero bytes decode as an empty assignment: coordinators hand that to a member the leader left out
 * of SyncGroup, and it means "nothing for you", not corruption.
 */
export function decodeAssignment(bytes: Buffer): DecodedAssignment {
  if (bytes.length === 0) return { partitions: [], userData: null, version: 0 }
  return decodeVersioned('assignment', bytes, LATEST_ASSIGNMENT_VERSION, (r, v) => {
    const a = ConsumerProtocolAssignmentCodec.decode(r, v)
    return { partitions: a.assignedPartitions, userData: a.userData }
  })
}

function checkVersion(what: string, version: number, latest: number): void {
  if (!Number.isInteger(version) || version < 0 || version > latest) {
    throw new RangeError(`consumer protocol ${what} version must be an integer from 0 to ${latest}, got ${version}`)
  }
}

function decodeVersioned<T>(what: string, bytes: Buffer, latest: number, read: (r: Reader, version: number) => T): T & { version: number } {
  try {
    const r = new Reader(bytes)
    const version = r.int16()
    if (version < 0) throw new ConsumerProtocolError(`consumer protocol ${what} has negative version ${version}`)
    return { ...read(r, Math.min(version, latest)), version }
  } catch (err) {
    if (err instanceof DecodeError) {
      throw new ConsumerProtocolError(`cannot decode a consumer protocol ${what} (${bytes.length} bytes): ${err.message}`, { cause: err })
    }
    throw err
  }
}
