/**
 * Incremental fetch sessions (KIP-227): each node keeps a bounded cache of sessions, so a client
 * fetching many partitions sends only the partitions whose fetch state changed and gets back only
 * the partitions with something new.
 *
 * The request's (sessionId, sessionEpoch) pair says what it is:
 * - (0, -1): a full fetch outside any session (what clients before KIP-227 send);
 * - (0, 0): a full fetch that asks for a new session; the answer names it, or says 0 when the
 *   cache has no room, and the session's next epoch is 1;
 * - (id, 0) and (id, -1): close session `id` first, then as (0, 0) and (0, -1);
 * - (id, epoch > 0): an incremental fetch. The listed partitions are added to the session or
 *   update its copy of their fetch state, `forgottenTopicsData` leaves it, and every partition the
 *   session holds is read. An unknown id gets FETCH_SESSION_ID_NOT_FOUND, an epoch other than the
 *   session's next one INVALID_FETCH_SESSION_EPOCH (a lost or repeated request, which the session
 *   cannot tell apart), a switch between topic names and topic ids (v13) FETCH_SESSION_TOPIC_ID_ERROR.
 *   Epochs go up by one and wrap from 2^31-1 to 1.
 *
 * An incremental answer leaves out the partitions with nothing new for the client: no records, no
 * error, no divergence, and the same high watermark, last stable offset and log start offset as the
 * session last reported. Partitions that returned records move to the back of the session, so a
 * response's byte limit cannot starve the same partitions every time.
 *
 * Eviction, as Kafka's cache: when every slot is taken, a new session replaces the least recently
 * used one if that one has been idle for `evictionMs`, or else the smallest session older than
 * `evictionMs` if the new one has at least as many partitions; otherwise the client gets no session.
 */
import { randomInt } from 'node:crypto'
import { KafkaErrorCode } from '../protocol/errors/kafka-errors.js'
import type { FetchRequest, FetchRequestFetchPartition, FetchRequestFetchTopic, FetchResponseFetchableTopicResponseInit, FetchResponseInit } from '../protocol/generated/index.js'
import { partitionKey } from '../protocol/topic-partition.js'
import { BrokerError } from './errors.js'

export interface FetchSessionOptions {
  /** Sessions a node keeps (Kafka's max.incremental.fetch.session.cache.slots). Default 1000; 0 refuses every session. */
  cacheSlots?: number
  /** How long a session is safe from eviction after its creation and after each use (Kafka's min.incremental.fetch.session.eviction.ms). Default 120 000. */
  evictionMs?: number
}

const DEFAULT_SLOTS = 1000
const DEFAULT_EVICTION_MS = 120_000
const MAX_EPOCH = 2 ** 31 - 1

/** A partition as the session holds it: the client's fetch state and what it was last told. */
interface CachedPartition {
  readonly topic: string
  readonly topicId: string
  request: FetchRequestFetchPartition
  highWatermark: bigint
  lastStableOffset: bigint
  logStartOffset: bigint
}

export class FetchSession {
  readonly partitions = new Map<string, CachedPartition>()
  nextEpoch = 1
  lastUsed: number

  constructor(
    readonly id: number,
    readonly usesTopicIds: boolean,
    readonly createdAt: number,
  ) {
    this.lastUsed = createdAt
  }

  get size(): number {
    return this.partitions.size
  }
}

export function nextSessionEpoch(epoch: number): number {
  return epoch >= MAX_EPOCH ? 1 : epoch + 1
}

export class FetchSessionCache {
  /** In order of last use, least recent first. */
  private readonly sessions = new Map<number, FetchSession>()
  readonly slots: number
  readonly evictionMs: number

  constructor(
    options: FetchSessionOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.slots = options.cacheSlots ?? DEFAULT_SLOTS
    this.evictionMs = options.evictionMs ?? DEFAULT_EVICTION_MS
  }

  get size(): number {
    return this.sessions.size
  }

  get(id: number): FetchSession | undefined {
    return this.sessions.get(id)
  }

  remove(id: number): void {
    this.sessions.delete(id)
  }

  touch(session: FetchSession): void {
    session.lastUsed = this.now()
    this.sessions.delete(session.id)
    this.sessions.set(session.id, session)
  }

  /** A new session for `partitionCount` partitions, evicting one if the rules allow; null when refused. */
  create(partitionCount: number, usesTopicIds: boolean): FetchSession | null {
    if (this.slots === 0) return null
    const now = this.now()
    if (this.sessions.size >= this.slots && !this.evictFor(partitionCount, now)) return null
    let id: number
    do id = randomInt(1, MAX_EPOCH)
    while (this.sessions.has(id))
    const session = new FetchSession(id, usesTopicIds, now)
    this.sessions.set(id, session)
    return session
  }

  private evictFor(partitionCount: number, now: number): boolean {
    const leastRecent = this.sessions.values().next().value
    if (leastRecent !== undefined && now - leastRecent.lastUsed >= this.evictionMs) {
      this.sessions.delete(leastRecent.id)
      return true
    }
    let smallest: FetchSession | undefined
    for (const session of this.sessions.values()) {
      if (now - session.createdAt < this.evictionMs) continue
      if (smallest === undefined || session.size < smallest.size) smallest = session
    }
    if (smallest === undefined || smallest.size > partitionCount) return false
    this.sessions.delete(smallest.id)
    return true
  }
}

export function validateFetchSessionOptions(options: FetchSessionOptions | undefined): FetchSessionOptions {
  const checked = options ?? {}
  for (const [name, value] of [['cacheSlots', checked.cacheSlots], ['evictionMs', checked.evictionMs]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new BrokerError('BROKER_INVALID_OPTION', `fetchSessions.${name} must be an integer >= 0, got ${value}`)
    }
  }
  return checked
}

/**
 * What the session part of a request comes to: the partitions to read (the request's own for a
 * full fetch, the session's for an incremental one), the session id to answer with, and how to
 * turn the partitions read into the response.
 */
export interface SessionPlan {
  readonly topics: FetchRequestFetchTopic[]
  readonly sessionId: number
  /** Records what the client is told and, for an incremental fetch, leaves out what is not new. */
  finish(topics: FetchResponseFetchableTopicResponseInit[]): FetchResponseFetchableTopicResponseInit[]
}

function sessionKey(usesTopicIds: boolean, topic: string, topicId: string, partition: number): string {
  return partitionKey(usesTopicIds ? topicId : topic, partition)
}

function sessionError(errorCode: number): FetchResponseInit {
  return { errorCode, sessionId: 0, responses: [] }
}

/** The plan for a request of `version`, or the top-level error that refuses it. */
export function planFetch(request: FetchRequest, version: number, cache: FetchSessionCache): SessionPlan | FetchResponseInit {
  const sessionless: SessionPlan = { topics: request.topics, sessionId: 0, finish: (topics) => topics }
  if (version < 7) return sessionless
  const { sessionId, sessionEpoch } = request
  if (sessionEpoch < -1) return sessionError(KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH)
  if (sessionEpoch === 0 || sessionEpoch === -1) {
    if (sessionId !== 0) cache.remove(sessionId)
    if (sessionEpoch === -1) return sessionless
    const usesTopicIds = version >= 13
    const session = cache.create(request.topics.reduce((n, t) => n + t.partitions.length, 0), usesTopicIds)
    if (session === null) return sessionless
    for (const t of request.topics) {
      for (const p of t.partitions) session.partitions.set(sessionKey(usesTopicIds, t.topic, t.topicId, p.partition), freshPartition(t, p))
    }
    return { topics: request.topics, sessionId: session.id, finish: (topics) => remember(session, topics, false) }
  }
  if (sessionId === 0) return sessionError(KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH)
  const session = cache.get(sessionId)
  if (session === undefined) return sessionError(KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND)
  if (session.nextEpoch !== sessionEpoch) return sessionError(KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH)
  if (session.usesTopicIds !== version >= 13) return sessionError(KafkaErrorCode.FETCH_SESSION_TOPIC_ID_ERROR)
  session.nextEpoch = nextSessionEpoch(sessionEpoch)
  cache.touch(session)
  for (const t of request.topics) {
    for (const p of t.partitions) {
      const key = sessionKey(session.usesTopicIds, t.topic, t.topicId, p.partition)
      const cached = session.partitions.get(key)
      if (cached === undefined) session.partitions.set(key, freshPartition(t, p))
      else cached.request = p
    }
  }
  for (const f of request.forgottenTopicsData) {
    for (const partition of f.partitions) session.partitions.delete(sessionKey(session.usesTopicIds, f.topic, f.topicId, partition))
  }
  return { topics: topicsOf(session), sessionId: session.id, finish: (topics) => remember(session, topics, true) }
}

function freshPartition(topic: FetchRequestFetchTopic, request: FetchRequestFetchPartition): CachedPartition {
  // -1 is never a real offset, so the first answer always reports the partition.
  return { topic: topic.topic, topicId: topic.topicId, request, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n }
}

/** The session's partitions as the topics of a request, in session order. */
function topicsOf(session: FetchSession): FetchRequestFetchTopic[] {
  const topics: FetchRequestFetchTopic[] = []
  let last: FetchRequestFetchTopic | undefined
  for (const cached of session.partitions.values()) {
    if (last === undefined || last.topic !== cached.topic || last.topicId !== cached.topicId) {
      last = { topic: cached.topic, topicId: cached.topicId, partitions: [] }
      topics.push(last)
    }
    last.partitions.push(cached.request)
  }
  return topics
}

function remember(session: FetchSession, topics: FetchResponseFetchableTopicResponseInit[], incremental: boolean): FetchResponseFetchableTopicResponseInit[] {
  const kept: FetchResponseFetchableTopicResponseInit[] = []
  const moveToBack: string[] = []
  for (const t of topics) {
    const partitions = t.partitions.filter((p) => {
      const key = sessionKey(session.usesTopicIds, t.topic ?? '', t.topicId ?? '', p.partitionIndex)
      const cached = session.partitions.get(key)
      if (cached === undefined) return true
      const highWatermark = p.highWatermark ?? -1n
      const lastStableOffset = p.lastStableOffset ?? -1n
      const logStartOffset = p.logStartOffset ?? -1n
      const hasRecords = p.records !== undefined && p.records !== null && p.records.length > 0
      const isNew =
        hasRecords ||
        (p.errorCode ?? 0) !== 0 ||
        (p.divergingEpoch !== undefined && (p.divergingEpoch.epoch ?? -1) >= 0) ||
        highWatermark !== cached.highWatermark ||
        lastStableOffset !== cached.lastStableOffset ||
        logStartOffset !== cached.logStartOffset
      cached.highWatermark = highWatermark
      cached.lastStableOffset = lastStableOffset
      cached.logStartOffset = logStartOffset
      if (hasRecords) moveToBack.push(key)
      return !incremental || isNew
    })
    if (partitions.length > 0 || !incremental) kept.push({ ...t, partitions })
  }
  for (const key of moveToBack) {
    const cached = session.partitions.get(key)!
    session.partitions.delete(key)
    session.partitions.set(key, cached)
  }
  return kept
}
