/**
 * Fetch: reading the requested partitions within the byte limits, and long polling.
 *
 * Long polling is event driven: a fetch that finds fewer than minBytes subscribes to its partitions'
 * appends and re-reads on the next turn of the event loop after one, so it answers as soon as enough
 * data is there; the only timer is the client's maxWaitMs.
 *
 * Fetch sessions (KIP-227) are kept per node in `fetch-sessions.ts`: it decides which partitions a
 * request reads and which of them its answer names; this file reads them.
 *
 * KIP-320 divergence: a v12+ request may say which leader epoch its last fetched batch had. When
 * the log no longer holds that epoch up to the fetch offset (it was truncated and rewritten under a
 * newer leader), the answer carries `divergingEpoch`, the largest epoch not above the client's and
 * where it ends here, and no records; the client truncates to that offset (or reports it).
 */
import { KafkaErrorCode } from '../protocol/errors/kafka-errors.js'
import type {
  FetchRequest,
  FetchRequestFetchPartition,
  FetchResponseFetchableTopicResponseInit,
  FetchResponseInit,
  FetchResponsePartitionDataInit,
} from '../protocol/generated/index.js'
import type { Partition, Topic } from './cluster.js'
import { FetchSessionCache, planFetch, type SessionPlan } from './fetch-sessions.js'
import type { NodeEndpoint } from './cluster.js'
import { leaderPartition, type RequestContext } from './handlers/handler.js'

const READ_COMMITTED = 1
const EMPTY = Buffer.alloc(0)

interface Collected {
  readonly topics: FetchResponseFetchableTopicResponseInit[]
  readonly bytes: number
  /** Any partition-level error: Kafka answers at once rather than wait. */
  readonly hasError: boolean
  /** Partitions read without error: what a long poll waits on. */
  readonly partitions: Partition[]
}

/** v13+ name topics by id, older versions by name. */
function resolveTopic(ctx: RequestContext, name: string, topicId: string): Topic | undefined {
  return ctx.version >= 13 ? ctx.cluster.topicById(topicId) : ctx.cluster.topic(name)
}

function partitionError(ctx: RequestContext, index: number, errorCode: number, partition?: Partition): FetchResponsePartitionDataInit {
  const response: FetchResponsePartitionDataInit = { partitionIndex: index, errorCode, highWatermark: -1n, records: EMPTY }
  if (partition !== undefined) {
    response.highWatermark = BigInt(partition.log.highWatermark)
    response.logStartOffset = BigInt(partition.log.logStartOffset)
    response.lastStableOffset = BigInt(partition.lastStableOffset)
    if (ctx.version >= 12 && errorCode === KafkaErrorCode.NOT_LEADER_OR_FOLLOWER) {
      response.currentLeader = { leaderId: partition.leader, leaderEpoch: partition.leaderEpoch }
    }
  }
  return response
}

/** Kafka's leader epoch check (KIP-320): a client ahead of us or behind us must refresh metadata. */
function epochError(partition: Partition, requested: number): number {
  if (requested < 0 || requested === partition.leaderEpoch) return 0
  return requested > partition.leaderEpoch ? KafkaErrorCode.UNKNOWN_LEADER_EPOCH : KafkaErrorCode.FENCED_LEADER_EPOCH
}

/**
 * KIP-320: the divergence of a fetch whose last fetched batch had `lastFetchedEpoch`, or null when
 * the log agrees with the client. Kafka's rule: the epoch's end offset here must not lie before the
 * fetch offset, and the log must know that epoch itself, not only an older one.
 */
function divergenceOf(partition: Partition, fetchOffset: number, lastFetchedEpoch: number): { epoch: number; endOffset: bigint } | null {
  if (lastFetchedEpoch < 0) return null
  const end = partition.epochs.endOffsetFor(lastFetchedEpoch, partition.log.logEndOffset)
  if (end.leaderEpoch >= 0 && end.endOffset >= fetchOffset && end.leaderEpoch >= lastFetchedEpoch) return null
  return { epoch: end.leaderEpoch, endOffset: BigInt(end.endOffset) }
}

function collect(request: FetchRequest, ctx: RequestContext, requested: readonly FetchRequest['topics'][number][]): Collected {
  let remaining = request.maxBytes
  let bytes = 0
  let hasError = false
  const partitions: Partition[] = []
  const topics = requested.map((t): FetchResponseFetchableTopicResponseInit => {
    const topic = resolveTopic(ctx, t.topic, t.topicId)
    const unknown = ctx.version >= 13 ? KafkaErrorCode.UNKNOWN_TOPIC_ID : KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    return {
      topic: t.topic,
      topicId: t.topicId,
      partitions: t.partitions.map((p: FetchRequestFetchPartition): FetchResponsePartitionDataInit => {
        const found = topic === undefined ? unknown : leaderPartition(ctx, topic, p.partition)
        if (typeof found === 'number') {
          hasError = true
          return partitionError(ctx, p.partition, found, topic?.partitions[p.partition])
        }
        const epochProblem = ctx.version >= 9 ? epochError(found, p.currentLeaderEpoch) : 0
        const { log } = found
        const offset = Number(p.fetchOffset)
        // Before the range check, as in Kafka: a fetch past the end of a truncated log diverged.
        const divergingEpoch = epochProblem === 0 && ctx.version >= 12 ? divergenceOf(found, offset, p.lastFetchedEpoch) : null
        if (divergingEpoch !== null) {
          hasError = true
          // An epoch this log never had (a client ahead of it): no place to truncate to, so the
          // client resets its position as for any offset outside the log.
          if (divergingEpoch.epoch < 0) return partitionError(ctx, p.partition, KafkaErrorCode.OFFSET_OUT_OF_RANGE, found)
          // Answered at once, like an error: the client must truncate before it reads on.
          return { ...partitionError(ctx, p.partition, 0, found), divergingEpoch }
        }
        const outOfRange = offset < log.logStartOffset || offset > log.logEndOffset
        if (epochProblem !== 0 || outOfRange) {
          hasError = true
          return partitionError(ctx, p.partition, epochProblem !== 0 ? epochProblem : KafkaErrorCode.OFFSET_OUT_OF_RANGE, found)
        }
        partitions.push(found)
        // read_committed never reads past the last stable offset: what lies beyond is undecided.
        const committedOnly = request.isolationLevel === READ_COMMITTED
        const lastStableOffset = found.lastStableOffset
        const upTo = committedOnly ? lastStableOffset : log.highWatermark
        // KIP-74: the first batch of the response is sent whole even if larger than the limits.
        const records = remaining > 0 || bytes === 0 ? log.read(offset, Math.min(p.partitionMaxBytes, remaining), bytes === 0, upTo) : null
        const size = records?.length ?? 0
        bytes += size
        remaining -= size
        return {
          partitionIndex: p.partition,
          errorCode: 0,
          highWatermark: BigInt(log.highWatermark),
          lastStableOffset: BigInt(lastStableOffset),
          logStartOffset: BigInt(log.logStartOffset),
          abortedTransactions: committedOnly ? abortedTransactionsOf(found, offset, records === null ? offset : upTo) : null,
          records: records ?? EMPTY,
        }
      }),
    }
  })
  return { topics, bytes, hasError, partitions }
}

/** The aborted transactions a read_committed consumer must skip in what it was sent. */
function abortedTransactionsOf(partition: Partition, fetchOffset: number, upperBound: number): { producerId: bigint; firstOffset: bigint }[] {
  return partition.transactions.abortedBetween(fetchOffset, upperBound).map((t) => ({ producerId: t.producerId, firstOffset: BigInt(t.firstOffset) }))
}

function respond(ctx: RequestContext, collected: Collected, plan: SessionPlan): FetchResponseInit {
  const response: FetchResponseInit = { errorCode: 0, sessionId: plan.sessionId, responses: plan.finish(collected.topics) }
  if (ctx.version >= 16) {
    // KIP-951: the endpoints of leaders named in NOT_LEADER_OR_FOLLOWER answers.
    const ids = new Set<number>()
    for (const t of collected.topics) for (const p of t.partitions) if (p.currentLeader?.leaderId !== undefined) ids.add(p.currentLeader.leaderId)
    response.nodeEndpoints = [...ids].flatMap((id) => {
      const node = ctx.cluster.node(id)
      return node === undefined ? [] : [{ nodeId: node.nodeId, host: node.host, port: node.port, rack: null }]
    })
  }
  return response
}

/** Each node's session cache (Kafka's caches are per broker), made on its first fetch. */
const sessionCaches = new WeakMap<NodeEndpoint, FetchSessionCache>()

function sessionCacheOf(ctx: RequestContext): FetchSessionCache {
  let cache = sessionCaches.get(ctx.node)
  if (cache === undefined) sessionCaches.set(ctx.node, (cache = new FetchSessionCache(ctx.options.fetchSessions)))
  return cache
}

/**
 * The parked fetches of each broker, keyed by its stop signal, woken by one abort listener. A
 * listener per parked fetch would pass Node's default limit of 10 listeners on the signal, and its
 * MaxListenersExceededWarning, as soon as a dozen consumers long-poll an idle topic; there is no
 * leak to warn about, since every fetch leaves the set when it answers.
 */
const parkedByBroker = new WeakMap<AbortSignal, Set<() => void>>()

/** Calls `wake` when `stopping` aborts, until the returned function is called. */
function whenStopping(stopping: AbortSignal, wake: () => void): () => void {
  let parked = parkedByBroker.get(stopping)
  if (parked === undefined) {
    const waiters = new Set<() => void>()
    stopping.addEventListener('abort', () => {
      for (const waiter of [...waiters]) waiter()
      waiters.clear()
    }, { once: true })
    parkedByBroker.set(stopping, waiters)
    parked = waiters
  }
  parked.add(wake)
  return () => parked.delete(wake)
}

export async function fetch(request: FetchRequest, ctx: RequestContext): Promise<FetchResponseInit> {
  const plan = planFetch(request, ctx.version, sessionCacheOf(ctx))
  if (!('finish' in plan)) return plan
  const first = collect(request, ctx, plan.topics)
  // Like Kafka, a fetch with nothing to wait on (no partitions) still waits out maxWaitMs, so a client
  // sending empty fetches cannot spin.
  if (first.bytes >= request.minBytes || request.maxWaitMs <= 0 || first.hasError || ctx.stopping.aborted) {
    return respond(ctx, first, plan)
  }
  return new Promise<FetchResponseInit>((resolve) => {
    let scheduled = false
    let done = false
    const finish = (collected?: Collected): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      for (const unsubscribe of unsubscribes) unsubscribe()
      leaveParked()
      resolve(respond(ctx, collected ?? collect(request, ctx, plan.topics), plan))
    }
    const recheck = (): void => {
      scheduled = false
      if (done) return
      const collected = collect(request, ctx, plan.topics)
      if (collected.bytes >= request.minBytes || collected.hasError) finish(collected)
    }
    // Re-read after the appending request is done, so one produce of many partitions wakes us once.
    const onAppend = (): void => {
      if (scheduled || done) return
      scheduled = true
      setImmediate(recheck)
    }
    const unsubscribes = first.partitions.map((p) => p.log.onAppend(onAppend))
    const timer = setTimeout(finish, request.maxWaitMs)
    const leaveParked = whenStopping(ctx.stopping, () => finish())
  })
}

const SESSION_ERRORS: ReadonlySet<number> = new Set([
  KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND,
  KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH,
  KafkaErrorCode.FETCH_SESSION_TOPIC_ID_ERROR,
])

/**
 * The answer fault injection sends: the error on every requested partition, or for a session error
 * at the top level, where the session code puts it.
 */
export function fetchErrorResponse(request: FetchRequest, errorCode: number): FetchResponseInit {
  if (SESSION_ERRORS.has(errorCode)) return { errorCode, sessionId: 0, responses: [] }
  return {
    errorCode: 0,
    sessionId: 0,
    responses: request.topics.map((t) => ({
      topic: t.topic,
      topicId: t.topicId,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partition, errorCode, highWatermark: -1n, records: EMPTY })),
    })),
  }
}
