/**
 * The fetcher keeps a bounded buffer of records per assigned partition, filled by Fetch requests
 * sent to each partition's leader while the application works through what is already buffered.
 *
 * - One Fetch in flight per leader; leaders are fetched from in parallel.
 * - A partition is left out of fetches while it is paused (unless paused with prefetch), while its
 *   buffer holds maxBufferedBytesPerPartition or more, or while its position is being reset; so
 *   memory is bounded by configuration, not by how far behind the consumer is.
 * - Each partition state has a generation, bumped by seek and assignment changes: a response to a
 *   fetch sent before the seek is dropped instead of delivering records from the old position.
 * - One incremental fetch session (KIP-227) per leader (`fetch-session.ts`): a request lists only
 *   the partitions whose fetch state changed, and a failed one falls back to a full request from
 *   the same positions.
 * - KIP-320: each partition sends the leader epoch of the last batch it fetched; a broker whose log
 *   no longer has that history answers with the point of divergence, and the partition moves back
 *   to it (or reports LogTruncationError when autoOffsetReset is 'none').
 * - The next fetch needs only where the fetched bytes end, which the v2 batch headers tell; so the
 *   bytes wait in the buffer undecoded and are decoded when taken, and the next fetch is on its
 *   way while the application works. Bytes that then fail to decode (CRC, corrupt records) put the
 *   partition back where they began, as if it had never moved past them.
 */
import { NetworkError } from '../../net/errors.js'
import { KafkaErrorCode, kafkaError } from '../../protocol/errors/kafka-errors.js'
import { Fetch, ListOffsets, type FetchResponse, type FetchResponsePartitionData } from '../../protocol/generated/index.js'
import type { Cluster } from '../cluster.js'
import { LogTruncationError, OffsetOutOfRangeError } from '../errors.js'
import { FetchSessionHandler, isSessionError, type SessionPartition, type SessionRequest } from './fetch-session.js'
import { isRetriableError } from '../retry.js'
import { partitionKey } from '../../protocol/topic-partition.js'
import { PartitionState, type BufferedChunk, type FetchedBytes } from './partition-state.js'
import { rangeOfFetch, recordsFromFetch, type AbortedTransaction, type FetchedRange, type FetchedRecords } from './records.js'

export { PartitionState, type BufferedChunk } from './partition-state.js'

export type OffsetResetPolicy = 'earliest' | 'latest' | 'none'

export interface FetcherOptions {
  readCommitted: boolean
  autoOffsetReset: OffsetResetPolicy
  minBytes: number
  maxBytes: number
  maxWaitMs: number
  maxPartitionBytes: number
  maxBufferedBytesPerPartition: number
  verifyCrc: boolean
  requestTimeoutMs: number
  retryBackoffMs: number
}

const LEADER_CHANGE_CODES: ReadonlySet<number> = new Set([
  KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
  KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  KafkaErrorCode.LEADER_NOT_AVAILABLE,
  KafkaErrorCode.FENCED_LEADER_EPOCH,
  KafkaErrorCode.UNKNOWN_LEADER_EPOCH,
  KafkaErrorCode.KAFKA_STORAGE_ERROR,
  KafkaErrorCode.OFFSET_NOT_AVAILABLE,
  KafkaErrorCode.REPLICA_NOT_AVAILABLE,
])

const EARLIEST_TIMESTAMP = -2n
const LATEST_TIMESTAMP = -1n

export class Fetcher {
  readonly partitions = new Map<string, PartitionState>()
  private readonly leadersInFlight = new Set<number>()
  private readonly leaderRetryAt = new Map<number, number>()
  /** The fetch session with each leader, by node id. */
  private readonly sessions = new Map<number, FetchSessionHandler>()
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private scheduled = false
  /** Called whenever records or an error become available. */
  onData: () => void = () => undefined

  constructor(
    private readonly cluster: Cluster,
    private readonly options: FetcherOptions,
  ) {}

  key(topic: string, partition: number): string {
    return partitionKey(topic, partition)
  }

  get(topic: string, partition: number): PartitionState | undefined {
    return this.partitions.get(this.key(topic, partition))
  }

  add(topic: string, partition: number): PartitionState {
    const state = new PartitionState(topic, partition, this.options.maxPartitionBytes)
    this.partitions.set(this.key(topic, partition), state)
    return state
  }

  remove(topic: string, partition: number): void {
    const state = this.get(topic, partition)
    if (state === undefined) return
    state.reset()
    this.partitions.delete(this.key(topic, partition))
  }

  /**
   * Moves a partition to an offset, or to the earliest/latest offset looked up from its leader;
   * null applies the autoOffsetReset policy.
   */
  seek(state: PartitionState, target: 'earliest' | 'latest' | bigint | null): void {
    state.reset()
    state.lastFetchedEpoch = -1
    if (typeof target === 'bigint') {
      state.fetchOffset = target
      state.position = target
      state.resetTo = null
    } else {
      state.fetchOffset = null
      state.position = null
      state.resetTo = target
    }
    this.schedule()
  }

  /**
   * Takes a partition's next chunk of records, decoding fetched bytes now; the caller advances the
   * position as it hands records out. Chunks with nothing to deliver (control or aborted batches)
   * move the position past them. Undefined when nothing is buffered, or when the bytes did not
   * decode: then `state.error` says why and the partition fetches them again.
   */
  take(state: PartitionState): BufferedChunk | undefined {
    for (;;) {
      const entry = state.buffer.shift()
      if (entry === undefined) return undefined
      state.bufferedBytes -= entry.bytes
      // Room in the buffer again: fetch more.
      if (state.bufferedBytes < this.options.maxBufferedBytesPerPartition) this.schedule()
      const chunk = 'fetched' in entry ? this.decodeFetched(state, entry) : entry
      if (chunk === undefined) return undefined
      if (chunk.records.length > 0) return chunk
      state.position = chunk.nextOffset
    }
  }

  schedule(): void {
    if (this.scheduled || this.stopped) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      this.run()
    })
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  private run(): void {
    if (this.stopped) return
    const now = Date.now()
    const fetchable = new Map<number, PartitionState[]>()
    const resets = new Map<number, PartitionState[]>()
    let nextWake = Infinity
    for (const state of this.partitions.values()) {
      if ((state.paused && !state.prefetchWhilePaused) || state.inFlight || state.error !== null) continue
      if (state.retryAt > now) {
        nextWake = Math.min(nextWake, state.retryAt)
        continue
      }
      const needsReset = state.fetchOffset === null
      if (!needsReset && state.bufferedBytes >= this.options.maxBufferedBytesPerPartition) continue
      const leader = this.cluster.leaderOf(state.topic, state.partition)
      if (leader === undefined) {
        this.cluster.refresh([state.topic]).then(
          () => this.schedule(),
          () => undefined,
        )
        state.retryAt = now + this.options.retryBackoffMs
        nextWake = Math.min(nextWake, state.retryAt)
        continue
      }
      const target = needsReset ? resets : fetchable
      let list = target.get(leader)
      if (list === undefined) target.set(leader, (list = []))
      list.push(state)
    }
    for (const [leader, states] of resets) this.resetOffsets(leader, states)
    for (const [leader, states] of fetchable) {
      if (this.leadersInFlight.has(leader)) continue
      const retryAt = this.leaderRetryAt.get(leader) ?? 0
      if (retryAt > now) {
        nextWake = Math.min(nextWake, retryAt)
        continue
      }
      this.fetchFrom(leader, states)
    }
    if (nextWake !== Infinity) {
      clearTimeout(this.timer)
      this.timer = setTimeout(() => this.schedule(), Math.max(0, nextWake - Date.now()))
    }
  }

  private fetchFrom(leader: number, states: PartitionState[]): void {
    this.leadersInFlight.add(leader)
    const sent = states.map((state) => ({ state, generation: state.generation, offset: state.fetchOffset! }))
    for (const { state } of sent) state.inFlight = true
    const wanted = sent.map(({ state, offset }): { topic: string; data: SessionPartition } => ({
      topic: state.topic,
      data: {
        partition: state.partition,
        fetchOffset: offset,
        partitionMaxBytes: state.fetchBytes,
        currentLeaderEpoch: this.cluster.partition(state.topic, state.partition)?.leaderEpoch ?? -1,
        lastFetchedEpoch: state.lastFetchedEpoch,
      },
    }))
    let session = this.sessions.get(leader)
    if (session === undefined) this.sessions.set(leader, (session = new FetchSessionHandler()))
    const handler = session
    let plan: SessionRequest | undefined
    const o = this.options
    const request = (async () =>
      this.cluster.connectionTo(leader).request(
        Fetch,
        (version) => {
          plan = handler.build(wanted, version)
          return {
            maxWaitMs: o.maxWaitMs,
            minBytes: o.minBytes,
            maxBytes: o.maxBytes,
            isolationLevel: o.readCommitted ? 1 : 0,
            sessionId: plan.sessionId,
            sessionEpoch: plan.sessionEpoch,
            topics: plan.topics.map(({ topic, partitions }) => ({ topic, partitions: partitions.map((p) => partitionFields(p, version)) })),
            ...(plan.forgotten.length > 0 ? { forgottenTopicsData: plan.forgotten } : {}),
          }
        },
        { timeoutMs: o.requestTimeoutMs + o.maxWaitMs },
      ))()
    request
      .then(
        (response) => {
          if (response.errorCode !== 0) handler.failed(response.errorCode)
          else if (plan !== undefined) handler.accepted(plan, response.sessionId)
          // An incremental request refused for its session goes again at once, as a full one; a
          // full one refused so takes the backoff, so a broker that keeps refusing is not spun on.
          if (isSessionError(response.errorCode) && plan?.full === false) return
          this.onFetchResponse(leader, sent, response)
        },
        (error: unknown) => {
          handler.failed()
          this.onFetchError(leader, sent, error)
        },
      )
      .finally(() => {
        this.leadersInFlight.delete(leader)
        for (const { state } of sent) state.inFlight = false
        this.schedule()
      })
      .catch(() => undefined)
  }

  private onFetchResponse(leader: number, sent: Array<{ state: PartitionState; generation: number; offset: bigint }>, response: FetchResponse): void {
    if (response.errorCode !== 0) {
      this.onFetchError(leader, sent, kafkaError(response.errorCode, { api: 'Fetch', broker: leader }))
      return
    }
    const results = new Map<string, FetchResponsePartitionData>()
    for (const topic of response.responses) {
      for (const p of topic.partitions) results.set(this.key(topic.topic, p.partitionIndex), p)
    }
    let delivered = false
    for (const { state, generation, offset } of sent) {
      // Seeked, reassigned or removed while the fetch was out: its records are from the old position.
      if (state.generation !== generation || this.partitions.get(this.key(state.topic, state.partition)) !== state) continue
      // Sent before the bytes ahead of it failed to decode: the partition fetches those again.
      if (state.fetchOffset !== offset) continue
      const result = results.get(this.key(state.topic, state.partition))
      if (result === undefined) continue
      if (this.onPartition(leader, state, offset, result)) delivered = true
    }
    // The next fetch is sent in this turn's microtasks: waking the application after them puts
    // that fetch on the wire, for the broker to work on, before these bytes are decoded.
    if (delivered) setImmediate(() => this.onData())
  }

  /** Handles one partition's part of a fetch response; returns whether it made something available. */
  private onPartition(leader: number, state: PartitionState, offset: bigint, result: FetchResponsePartitionData): boolean {
    const code = result.errorCode
    if (code === 0 && result.divergingEpoch.epoch >= 0) return this.onDivergence(state, offset, result.divergingEpoch)
    if (code === KafkaErrorCode.OFFSET_OUT_OF_RANGE) {
      if (this.options.autoOffsetReset === 'none') {
        state.error = new OffsetOutOfRangeError(state.topic, state.partition, offset)
        return true
      }
      state.fetchOffset = null
      state.resetTo = this.options.autoOffsetReset
      return false
    }
    if (LEADER_CHANGE_CODES.has(code)) {
      this.cluster.leaderHint(state.topic, state.partition, result.currentLeader.leaderId, result.currentLeader.leaderEpoch)
      state.retryAt = Date.now() + this.options.retryBackoffMs
      return false
    }
    if (code !== 0) {
      state.error = kafkaError(code, { api: 'Fetch', topic: state.topic, partition: state.partition, broker: leader })
      return true
    }
    state.highWatermark = result.highWatermark
    const range = rangeOfFetch(result.records, offset)
    return range === null ? this.decodeNow(state, offset, result) : this.advance(state, offset, result, range)
  }

  /**
   * Moves the partition past well-framed fetched bytes at once and buffers them undecoded, for
   * `take` to decode.
   */
  private advance(state: PartitionState, offset: bigint, result: FetchResponsePartitionData, range: FetchedRange): boolean {
    if (this.grewForTooLarge(state, range)) return false
    const epochBefore = state.lastFetchedEpoch
    if (range.lastEpoch >= 0) state.lastFetchedEpoch = range.lastEpoch
    // Nothing at or past the fetch offset: no records to decode.
    if (range.nextOffset === offset) return false
    state.fetchOffset = range.nextOffset
    const bytes = result.records!.length
    state.buffer.push({ fetched: result.records!, aborted: result.abortedTransactions, offset, epochBefore, bytes, nextOffset: range.nextOffset, generation: state.generation, highWatermark: result.highWatermark })
    state.bufferedBytes += bytes
    return true
  }

  /**
   * Bytes whose end the batch headers cannot tell (legacy message sets, broken framing) are decoded
   * at once: the next fetch starts where their records end.
   */
  private decodeNow(state: PartitionState, offset: bigint, result: FetchResponsePartitionData): boolean {
    let fetched
    try {
      fetched = this.decode(state, result.records, offset, result.abortedTransactions)
    } catch (error) {
      state.error = error instanceof Error ? error : new Error(String(error))
      return true
    }
    if (this.grewForTooLarge(state, fetched)) return false
    state.fetchOffset = fetched.nextOffset
    if (fetched.lastEpoch >= 0) state.lastFetchedEpoch = fetched.lastEpoch
    const bytes = result.records?.length ?? 0
    state.buffer.push({ records: fetched.records, bytes, nextOffset: fetched.nextOffset, generation: state.generation, highWatermark: result.highWatermark })
    state.bufferedBytes += bytes
    return true
  }

  /** A single batch larger than the partition's fetch size: fetch again with room for it. */
  private grewForTooLarge(state: PartitionState, range: FetchedRange): boolean {
    if (range.tooLarge !== null) {
      state.fetchBytes = Math.min(Math.max(range.tooLarge, state.fetchBytes * 2), this.options.maxBytes)
      return true
    }
    state.fetchBytes = this.options.maxPartitionBytes
    return false
  }

  /**
   * Decodes bytes `advance` buffered. If they do not decode, the partition goes back to where they
   * began and reports the error, as if it had never moved past them; what it fetched after them is
   * dropped, and a fetch in flight from further on is ignored when it returns (its offset no
   * longer matches).
   */
  private decodeFetched(state: PartitionState, entry: FetchedBytes): BufferedChunk | undefined {
    try {
      const fetched = this.decode(state, entry.fetched, entry.offset, entry.aborted)
      return { records: fetched.records, bytes: entry.bytes, nextOffset: entry.nextOffset, generation: entry.generation, highWatermark: entry.highWatermark }
    } catch (error) {
      state.buffer.length = 0
      state.bufferedBytes = 0
      state.fetchOffset = entry.offset
      state.lastFetchedEpoch = entry.epochBefore
      state.error = error instanceof Error ? error : new Error(String(error))
      return undefined
    }
  }

  private decode(state: PartitionState, bytes: Buffer | null, offset: bigint, aborted: readonly AbortedTransaction[] | null): FetchedRecords {
    return recordsFromFetch(bytes, {
      topic: state.topic,
      partition: state.partition,
      fetchOffset: offset,
      readCommitted: this.options.readCommitted,
      aborted,
      verifyCrc: this.options.verifyCrc,
    })
  }

  /**
   * KIP-320: the leader's log diverged from what this partition fetched at `divergence.endOffset`.
   * Buffered records past it no longer exist in the log; the partition moves back there (or stays
   * where the application is, if that is earlier), as Kafka's consumer does, unless
   * autoOffsetReset is 'none'.
   */
  private onDivergence(state: PartitionState, offset: bigint, divergence: { epoch: number; endOffset: bigint }): boolean {
    if (this.options.autoOffsetReset === 'none') {
      state.error = new LogTruncationError(state.topic, state.partition, offset, divergence.endOffset)
      return true
    }
    const position = state.position !== null && state.position < divergence.endOffset ? state.position : divergence.endOffset
    state.reset()
    state.fetchOffset = position
    state.position = position
    state.lastFetchedEpoch = position === divergence.endOffset ? divergence.epoch : -1
    return false
  }

  private onFetchError(leader: number, sent: Array<{ state: PartitionState }>, error: unknown): void {
    if (isRetriableError(error) || error instanceof NetworkError) {
      this.leaderRetryAt.set(leader, Date.now() + this.options.retryBackoffMs)
      this.cluster.refresh().catch(() => undefined)
      return
    }
    const failure = error instanceof Error ? error : new Error(String(error))
    for (const { state } of sent) state.error = failure
    this.onData()
  }

  private resetOffsets(leader: number, states: PartitionState[]): void {
    const sent = states.map((state) => ({ state, generation: state.generation, target: state.resetTo ?? this.options.autoOffsetReset }))
    const noPolicy = sent.filter((s) => s.target === 'none')
    for (const { state } of noPolicy) {
      state.error = new OffsetOutOfRangeError(state.topic, state.partition, -1n)
    }
    if (noPolicy.length > 0) this.onData()
    const lookups = sent.filter((s) => s.target !== 'none')
    if (lookups.length === 0) return
    for (const { state } of lookups) state.inFlight = true
    const topics = new Map<string, Array<{ partitionIndex: number; timestamp: bigint }>>()
    for (const { state, target } of lookups) {
      let list = topics.get(state.topic)
      if (list === undefined) topics.set(state.topic, (list = []))
      list.push({ partitionIndex: state.partition, timestamp: target === 'earliest' ? EARLIEST_TIMESTAMP : LATEST_TIMESTAMP })
    }
    const request = (async () =>
      this.cluster.connectionTo(leader).request(ListOffsets, (version) => ({
        replicaId: -1,
        ...(version >= 2 ? { isolationLevel: this.options.readCommitted ? 1 : 0 } : {}),
        topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
      })))()
    request
      .then(
        (response) => {
          const byKey = new Map(lookups.map((l) => [this.key(l.state.topic, l.state.partition), l]))
          for (const topic of response.topics) {
            for (const p of topic.partitions) {
              const entry = byKey.get(this.key(topic.name, p.partitionIndex))
              if (entry === undefined || entry.state.generation !== entry.generation) continue
              const state = entry.state
              if (p.errorCode !== 0) {
                if (isRetriableErrorCode(p.errorCode)) {
                  this.cluster.leaderHint(state.topic, state.partition)
                  state.retryAt = Date.now() + this.options.retryBackoffMs
                } else {
                  state.error = kafkaError(p.errorCode, { api: 'ListOffsets', topic: state.topic, partition: state.partition, broker: leader })
                  this.onData()
                }
                continue
              }
              state.fetchOffset = p.offset
              state.position = p.offset
              state.resetTo = null
            }
          }
        },
        (error: unknown) => {
          for (const { state } of lookups) state.retryAt = Date.now() + this.options.retryBackoffMs
          if (!isRetriableError(error)) {
            for (const { state } of lookups) state.error = error instanceof Error ? error : new Error(String(error))
            this.onData()
          }
        },
      )
      .finally(() => {
        for (const { state } of lookups) state.inFlight = false
        this.schedule()
      })
      .catch(() => undefined)
  }
}

/** A partition of a Fetch request with the fields `version` carries. */
function partitionFields(p: SessionPartition, version: number): SessionPartition | Omit<SessionPartition, 'lastFetchedEpoch'> | Omit<SessionPartition, 'lastFetchedEpoch' | 'currentLeaderEpoch'> {
  // KIP-320: the leader epoch lets the broker refuse a fetch sent to a stale leader (v9), the last
  // fetched epoch lets it detect a truncated log (v12).
  if (version >= 12) return p
  if (version >= 9) return { partition: p.partition, fetchOffset: p.fetchOffset, partitionMaxBytes: p.partitionMaxBytes, currentLeaderEpoch: p.currentLeaderEpoch }
  return { partition: p.partition, fetchOffset: p.fetchOffset, partitionMaxBytes: p.partitionMaxBytes }
}

function isRetriableErrorCode(code: number): boolean {
  return LEADER_CHANGE_CODES.has(code) || code === KafkaErrorCode.NOT_LEADER_OR_FOLLOWER
}
