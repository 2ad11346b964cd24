/**
 * The lab consumer's fetch loop: one Fetch per partition leader at a time, for the partitions this
 * member owns and has not paused, each from its own position.
 *
 * A response is applied only if the partition is still owned under the same assignment and still
 * at the offset the request asked from: a fetch that raced a revocation or a seek must not deliver
 * records the member no longer owns, or deliver them twice.
 */
import type { Cluster } from '../../client/cluster.js'
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { Fetch, type FetchResponsePartitionData } from '../../protocol/generated/index.js'
import { decodeRecordBatches } from '../../protocol/records/index.js'
import type { FetchedBatch, FetchedRecord } from '../../processing/consumer-port.js'

/** The fetch state of one owned partition; a new object per assignment, so stale responses are told apart. */
export interface FetchPosition {
  readonly topic: string
  readonly partition: number
  /** The next offset to fetch; undefined until the committed offset is known. */
  offset: bigint | undefined
  paused: boolean
}

export interface FetcherOptions {
  cluster: Cluster
  /** The current state of each owned partition; the fetcher reads it before and after every request. */
  positions: () => Iterable<FetchPosition>
  isCurrent: (position: FetchPosition) => boolean
  deliver: (batch: FetchedBatch) => void
  /** How long the broker may hold a fetch open waiting for data. */
  maxWaitMs: number
  retryBackoffMs: number
  /** Fetch failures that are not the partition's fault (the connection dropped) land here. */
  onError: (error: unknown) => void
}

const PARTITION_MAX_BYTES = 256 * 1024

export class Fetcher {
  private stopped = false
  private wake: (() => void) | undefined
  private loop: Promise<void> | undefined

  constructor(private readonly options: FetcherOptions) {}

  start(): void {
    this.loop ??= this.run()
  }

  /** Something changed (assignment, pause, resume): look again instead of waiting. */
  kick(): void {
    this.wake?.()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.kick()
    await this.loop
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const ready = [...this.options.positions()].filter((p) => !p.paused && p.offset !== undefined)
      if (ready.length === 0) {
        await this.idle()
        continue
      }
      const byLeader = new Map<number, FetchPosition[]>()
      let leaderless = false
      for (const position of ready) {
        const leader = this.options.cluster.leaderOf(position.topic, position.partition)
        if (leader === undefined) {
          leaderless = true
          continue
        }
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), position])
      }
      if (leaderless) this.options.cluster.refresh().catch((error: unknown) => this.options.onError(error))
      if (byLeader.size === 0) {
        await this.idle(this.options.retryBackoffMs)
        continue
      }
      const failed = await Promise.all([...byLeader].map(([leader, positions]) => this.fetchFrom(leader, positions)))
      if (failed.includes(true)) await this.idle(this.options.retryBackoffMs)
    }
  }

  /** Waits for a kick, or at most `ms` when given. */
  private idle(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = (): void => {
        clearTimeout(timer)
        this.wake = undefined
        resolve()
      }
      if (ms !== undefined) timer = setTimeout(done, ms)
      this.wake = done
      if (this.stopped) done()
    })
  }

  /** One Fetch to one leader; true when it failed and the loop should back off. */
  private async fetchFrom(leader: number, positions: FetchPosition[]): Promise<boolean> {
    const cluster = this.options.cluster
    const asked = new Map(positions.map((p) => [`${p.topic}\u0000${p.partition}`, { position: p, offset: p.offset as bigint }]))
    const topics = [...new Set(positions.map((p) => p.topic))]
    let response
    try {
      response = await cluster.connectionTo(leader).request(
        Fetch,
        (version) => ({
          maxWaitMs: this.options.maxWaitMs,
          minBytes: 1,
          maxBytes: 4 * PARTITION_MAX_BYTES,
          isolationLevel: 0,
          topics: topics.map((topic) => ({
            // Fetch v13 (KIP-516) names topics by id.
            ...(version >= 13 ? { topicId: cluster.topic(topic)?.topicId ?? '' } : { topic }),
            partitions: positions
              .filter((p) => p.topic === topic)
              .map((p) => ({ partition: p.partition, fetchOffset: p.offset as bigint, partitionMaxBytes: PARTITION_MAX_BYTES })),
          })),
        }),
        { timeoutMs: cluster.config.requestTimeoutMs + this.options.maxWaitMs },
      )
    } catch (error) {
      if (!this.stopped) this.options.onError(error)
      return true
    }
    const topicById = new Map(topics.map((t) => [cluster.topic(t)?.topicId ?? '', t]))
    let failed = false
    for (const topicResponse of response.responses) {
      const topic = topicResponse.topic !== '' ? topicResponse.topic : topicById.get(topicResponse.topicId)
      if (topic === undefined) continue
      for (const data of topicResponse.partitions) {
        const entry = asked.get(`${topic}\u0000${data.partitionIndex}`)
        if (entry === undefined) continue
        if (!this.apply(topic, entry.position, entry.offset, data)) failed = true
      }
    }
    return failed
  }

  /** Applies one partition's answer; false when it was an error worth backing off for. */
  private apply(topic: string, position: FetchPosition, askedOffset: bigint, data: FetchResponsePartitionData): boolean {
    if (!this.options.isCurrent(position) || position.offset !== askedOffset) return true
    if (data.errorCode !== KafkaErrorCode.NONE) {
      if (data.errorCode === KafkaErrorCode.NOT_LEADER_OR_FOLLOWER || data.errorCode === KafkaErrorCode.FENCED_LEADER_EPOCH) {
        this.options.cluster.leaderHint(topic, position.partition, data.currentLeader.leaderId, data.currentLeader.leaderEpoch)
      } else if (data.errorCode === KafkaErrorCode.OFFSET_OUT_OF_RANGE) {
        // auto.offset.reset=earliest: the lab's topics are never truncated, so this only follows a deletion.
        position.offset = data.logStartOffset >= 0n ? data.logStartOffset : 0n
      }
      return false
    }
    if (data.records === null || data.records.length === 0) return true
    const decoded = decodeRecordBatches(data.records)
    const records: FetchedRecord[] = []
    let next = askedOffset
    for (const batch of decoded.batches) {
      if (batch.lastOffset + 1n > next) next = batch.lastOffset + 1n
      if (batch.isControl) continue
      for (const r of batch.records) {
        // A batch may start before the fetch offset: skip what this member already had.
        if (r.offset >= askedOffset) records.push({ offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers })
      }
    }
    if (next === askedOffset) return true
    position.offset = next
    this.options.deliver({ topic, partition: position.partition, records, nextOffset: next, highWatermark: data.highWatermark })
    return true
  }
}
