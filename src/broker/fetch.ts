/**
 * Fetch: reading the requested partitions within the byte limits, and long polling.
 *
 * Long polling is event driven: a fetch that finds fewer than minBytes subscribes to its partitions'
 * appends and re-reads on the next turn of the event loop after one, so it answers as soon as enough
 * data is there; the only timer is the client's maxWaitMs.
 *
 * Fetch sessions (KIP-227) are refused the way Kafka refuses them when its session cache is full:
 * every response carries sessionId 0, which tells the client to keep sending full fetch requests.
 * A request naming a session (which this broker never created) gets FETCH_SESSION_ID_NOT_FOUND, and
 * clients answer that by starting over with a full request.
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

function collect(request: FetchRequest, ctx: RequestContext): Collected {
  let remaining = request.maxBytes
  let bytes = 0
  let hasError = false
  const partitions: Partition[] = []
  const topics = request.topics.map((t): FetchResponseFetchableTopicResponseInit => {
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

function respond(ctx: RequestContext, collected: Collected): FetchResponseInit {
  const response: FetchResponseInit = { errorCode: 0, sessionId: 0, responses: collected.topics }
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

/** The session part of the request, checked before any partition is read; null when acceptable. */
function sessionError(request: FetchRequest, ctx: RequestContext): FetchResponseInit | null {
  if (ctx.version < 7) return null
  if (request.sessionId !== 0) return { errorCode: KafkaErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] }
  if (request.sessionEpoch !== 0 && request.sessionEpoch !== -1) return { errorCode: KafkaErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: 0, responses: [] }
  return null
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
  const refused = sessionError(request, ctx)
  if (refused !== null) return refused
  const first = collect(request, ctx)
  // Like Kafka, a fetch with nothing to wait on (no partitions) still waits out maxWaitMs, so a client
  // sending empty fetches cannot spin.
  if (first.bytes >= request.minBytes || request.maxWaitMs <= 0 || first.hasError || ctx.stopping.aborted) {
    return respond(ctx, first)
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
      resolve(respond(ctx, collected ?? collect(request, ctx)))
    }
    const recheck = (): void => {
      scheduled = false
      if (done) return
      const collected = collect(request, ctx)
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

/** The answer fault injection sends: the error on every requested partition. */
export function fetchErrorResponse(request: FetchRequest, errorCode: number): FetchResponseInit {
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
