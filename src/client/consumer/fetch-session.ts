/**
 * The client's half of an incremental fetch session (KIP-227) with one broker.
 *
 * The broker's session holds each partition's fetch state as last sent and reads every partition
 * of the session at that state on each incremental fetch. So an incremental request lists a
 * partition when it is new to the session or when anything the broker reads it by changed (fetch
 * offset, size, leader epoch, last fetched epoch), and forgets the partitions not being fetched this
 * time (paused, full, moved to another leader, unassigned); the rest it leaves out.
 *
 * Whatever goes wrong, the next request is a full one: after FETCH_SESSION_ID_NOT_FOUND a new
 * session is asked for; after any other failure (a wrong epoch, a lost or timed-out response, after
 * which the broker may or may not have applied the request) the old session is closed and a new one
 * asked for in the same full request. A failed request delivers nothing and the fetcher's positions
 * do not move, so the full request reads from exactly where the consumer stands: nothing is lost
 * or repeated across the fallback.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { partitionKey } from '../../protocol/topic-partition.js'

export interface SessionPartition {
  readonly partition: number
  readonly fetchOffset: bigint
  readonly partitionMaxBytes: number
  readonly currentLeaderEpoch: number
  readonly lastFetchedEpoch: number
}

export interface SessionTopic {
  readonly topic: string
  readonly partitions: SessionPartition[]
}

/** One request's session fields and contents. */
export interface SessionRequest {
  readonly sessionId: number
  readonly sessionEpoch: number
  readonly topics: SessionTopic[]
  readonly forgotten: Array<{ topic: string; partitions: number[] }>
  /** What the session will hold once the broker accepts the request. */
  readonly next: Map<string, { topic: string; data: SessionPartition }>
  readonly full: boolean
}

/** Sessions exist from Fetch v7. */
export const FETCH_SESSION_MIN_VERSION = 7
const MAX_EPOCH = 2 ** 31 - 1

export class FetchSessionHandler {
  private id = 0
  /** The epoch of the next request: 0 asks for a new session with a full request. */
  private epoch = 0
  private partitions = new Map<string, { topic: string; data: SessionPartition }>()

  get sessionId(): number {
    return this.id
  }

  /** The request for fetching exactly `wanted` now; sessionless when the version has no sessions. */
  build(wanted: ReadonlyArray<{ topic: string; data: SessionPartition }>, version: number): SessionRequest {
    const next = new Map<string, { topic: string; data: SessionPartition }>()
    for (const w of wanted) next.set(partitionKey(w.topic, w.data.partition), w)
    if (version < FETCH_SESSION_MIN_VERSION) return { sessionId: 0, sessionEpoch: -1, topics: groupByTopic(wanted), forgotten: [], next, full: true }
    if (this.id === 0 || this.epoch === 0) return { sessionId: this.id, sessionEpoch: 0, topics: groupByTopic(wanted), forgotten: [], next, full: true }
    const changed: Array<{ topic: string; data: SessionPartition }> = []
    for (const [key, w] of next) {
      const held = this.partitions.get(key)
      if (held === undefined || !samePartition(held.data, w.data)) changed.push(w)
    }
    const forgotten = new Map<string, number[]>()
    for (const [key, held] of this.partitions) {
      if (next.has(key)) continue
      let list = forgotten.get(held.topic)
      if (list === undefined) forgotten.set(held.topic, (list = []))
      list.push(held.data.partition)
    }
    return {
      sessionId: this.id,
      sessionEpoch: this.epoch,
      topics: groupByTopic(changed),
      forgotten: [...forgotten].map(([topic, partitions]) => ({ topic, partitions })),
      next,
      full: false,
    }
  }

  /** The broker accepted `request` (no top-level error) and answered with `sessionId`. */
  accepted(request: SessionRequest, sessionId: number): void {
    if (sessionId === 0 || (!request.full && sessionId !== this.id)) {
      // No session (the broker's cache is full, or it closed ours): full requests from now on,
      // each asking for a session again.
      this.id = 0
      this.epoch = 0
      this.partitions.clear()
      return
    }
    this.id = sessionId
    this.epoch = request.full ? 1 : this.epoch >= MAX_EPOCH ? 1 : this.epoch + 1
    this.partitions = request.next
  }

  /** The request failed: a top-level error code, or no answer at all (undefined). */
  failed(errorCode?: number): void {
    // An unknown session needs no closing; any other failure leaves the broker's state in doubt.
    if (errorCode === KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND) this.id = 0
    this.epoch = 0
    this.partitions.clear()
  }
}

export function isSessionError(errorCode: number): boolean {
  return (
    errorCode === KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND ||
    errorCode === KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH ||
    errorCode === KafkaErrorCode.FETCH_SESSION_TOPIC_ID_ERROR
  )
}

function samePartition(a: SessionPartition, b: SessionPartition): boolean {
  return (
    a.fetchOffset === b.fetchOffset &&
    a.partitionMaxBytes === b.partitionMaxBytes &&
    a.currentLeaderEpoch === b.currentLeaderEpoch &&
    a.lastFetchedEpoch === b.lastFetchedEpoch
  )
}

function groupByTopic(partitions: Iterable<{ topic: string; data: SessionPartition }>): SessionTopic[] {
  const topics = new Map<string, SessionPartition[]>()
  for (const { topic, data } of partitions) {
    let list = topics.get(topic)
    if (list === undefined) topics.set(topic, (list = []))
    list.push(data)
  }
  return [...topics].map(([topic, list]) => ({ topic, partitions: list }))
}
