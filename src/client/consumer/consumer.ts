/**
 * A consumer of explicitly assigned partitions: `assign`, `seek`, `pause`/`resume`, and records as
 * an async iterator (one at a time) or as batches (one partition's fetched chunk at a time).
 *
 * Group membership (a later issue) drives this class rather than replacing it: the member calls
 * `assign()` with the partitions and committed offsets the coordinator gave it, and reads
 * `position()` to commit. Nothing here commits offsets.
 */
import { Cluster } from '../cluster.js'
import { enumOption, intOption, boolOption, CLIENT_OPTION_NAMES, resolveClientConfig, type ClientConfig } from '../config.js'
import { everyKeyOf } from '../option-names.js'
import { ClientClosedError, ConfigError, InvalidRecordError } from '../errors.js'
import { KafkaErrorCode, kafkaError } from '../../protocol/errors/kafka-errors.js'
import { ListOffsets } from '../../protocol/generated/index.js'
import { Fetcher, type BufferedChunk, type OffsetResetPolicy, type PartitionState } from './fetcher.js'
import type { TopicPartition } from '../../protocol/topic-partition.js'
import type { ConsumerRecord } from './records.js'

export type { ConsumerRecord } from './records.js'
export type { OffsetResetPolicy } from './fetcher.js'

export type { TopicPartition } from '../../protocol/topic-partition.js'

/** Where to start: an offset, or the earliest/latest offset of the partition. */
export type StartOffset = bigint | 'earliest' | 'latest'

export interface PauseOptions {
  /** Keep fetching into the partitions' buffers (bounded by maxBufferedBytesPerPartition) while paused. Default false. */
  readonly prefetch?: boolean
}

export interface PartitionAssignment extends TopicPartition {
  /** Absent: start per autoOffsetReset. */
  offset?: StartOffset
}

export interface ConsumerBatch extends TopicPartition {
  readonly records: readonly ConsumerRecord[]
  /** The partition's high watermark when the records were fetched: lag is highWatermark - next offset. */
  readonly highWatermark: bigint
}

export interface ConsumerConfig extends ClientConfig {
  /** 'read_committed' hides records of aborted and open transactions. Default 'read_uncommitted'. */
  isolationLevel?: 'read_uncommitted' | 'read_committed'
  /** What to do with no starting offset or one outside the log. Default 'latest', as Kafka's consumer. */
  autoOffsetReset?: OffsetResetPolicy
  /** Default 1. */
  fetchMinBytes?: number
  /** Cap on one Fetch response. Default 50 MiB. */
  fetchMaxBytes?: number
  /** How long the broker may hold a fetch waiting for fetchMinBytes. Default 500 ms. */
  fetchMaxWaitMs?: number
  /** Bytes per partition per fetch. Default 1 MiB. */
  maxPartitionFetchBytes?: number
  /** Fetched bytes buffered per partition before its fetching pauses. Default 2 × maxPartitionFetchBytes. */
  maxBufferedBytesPerPartition?: number
  /** Verify record batch CRCs. Default true. */
  checkCrcs?: boolean
}

/** Every key of `ConsumerConfig`; a group consumer hands these on to the consumer it wraps. */
export const CONSUMER_OPTION_NAMES = everyKeyOf<ConsumerConfig>()([
  ...CLIENT_OPTION_NAMES,
  'isolationLevel',
  'autoOffsetReset',
  'fetchMinBytes',
  'fetchMaxBytes',
  'fetchMaxWaitMs',
  'maxPartitionFetchBytes',
  'maxBufferedBytesPerPartition',
  'checkCrcs',
])

interface Current {
  readonly state: PartitionState
  readonly chunk: BufferedChunk
  index: number
}

export class Consumer implements AsyncIterable<ConsumerRecord> {
  readonly cluster: Cluster
  private readonly fetcher: Fetcher
  private waiters: Array<() => void> = []
  private closed = false
  /** Round-robin cursor over partitions, so one busy partition cannot starve the others. */
  private cursor = 0
  private current: Current | null = null
  private readonly readCommitted: boolean
  /** Which position each batch handed out came from, for `isStale`. */
  private readonly handedOut = new WeakMap<ConsumerBatch, { readonly state: PartitionState; readonly generation: number }>()

  constructor(config: ConsumerConfig) {
    const client = resolveClientConfig(config, CONSUMER_OPTION_NAMES)
    const maxPartitionBytes = intOption(config, 'maxPartitionFetchBytes', 1_048_576, 1)
    const options = {
      readCommitted: enumOption(config, 'isolationLevel', 'read_uncommitted', ['read_uncommitted', 'read_committed'] as const) === 'read_committed',
      autoOffsetReset: enumOption<OffsetResetPolicy>(config, 'autoOffsetReset', 'latest', ['earliest', 'latest', 'none']),
      minBytes: intOption(config, 'fetchMinBytes', 1, 0),
      maxBytes: intOption(config, 'fetchMaxBytes', 52_428_800, 1),
      maxWaitMs: intOption(config, 'fetchMaxWaitMs', 500, 0),
      maxPartitionBytes,
      maxBufferedBytesPerPartition: intOption(config, 'maxBufferedBytesPerPartition', 2 * maxPartitionBytes, 1),
      verifyCrc: boolOption(config, 'checkCrcs', true),
      requestTimeoutMs: client.requestTimeoutMs,
      retryBackoffMs: client.retryBackoffMs,
    }
    if (options.maxPartitionBytes > options.maxBytes) {
      throw new ConfigError('maxPartitionFetchBytes', `must not exceed fetchMaxBytes (${options.maxBytes}), got ${options.maxPartitionBytes}`)
    }
    this.cluster = new Cluster(client)
    this.readCommitted = options.readCommitted
    this.fetcher = new Fetcher(this.cluster, options)
    this.fetcher.onData = () => this.notify()
  }

  async connect(): Promise<void> {
    if (this.closed) throw new ClientClosedError('The consumer')
    await this.cluster.connect()
  }

  /**
   * Replaces the assignment. Partitions kept keep their position and buffer; new ones start at the
   * given offset or per autoOffsetReset. Waits for metadata of the topics involved.
   */
  async assign(partitions: readonly PartitionAssignment[]): Promise<void> {
    if (this.closed) throw new ClientClosedError('The consumer')
    for (const p of partitions) validatePartition(p)
    const topics = [...new Set(partitions.map((p) => p.topic))]
    await this.cluster.waitForTopics(topics)
    for (const p of partitions) {
      const count = this.cluster.partitionCount(p.topic)
      if (p.partition >= count) throw new InvalidRecordError(`partition ${p.partition} does not exist: topic ${JSON.stringify(p.topic)} has ${count} partitions`)
    }
    const wanted = new Set(partitions.map((p) => this.fetcher.key(p.topic, p.partition)))
    for (const state of [...this.fetcher.partitions.values()]) {
      if (!wanted.has(this.fetcher.key(state.topic, state.partition))) this.fetcher.remove(state.topic, state.partition)
    }
    for (const p of partitions) {
      let state = this.fetcher.get(p.topic, p.partition)
      if (state !== undefined && p.offset === undefined) continue
      state ??= this.fetcher.add(p.topic, p.partition)
      this.fetcher.seek(state, p.offset ?? null)
    }
    this.fetcher.schedule()
  }

  assignment(): TopicPartition[] {
    return [...this.fetcher.partitions.values()].map((s) => ({ topic: s.topic, partition: s.partition }))
  }

  /** Moves an assigned partition; buffered records of the old position are dropped. */
  seek(partition: TopicPartition, offset: StartOffset): void {
    const state = this.assigned(partition)
    if (typeof offset === 'bigint' && offset < 0n) throw new InvalidRecordError(`offset must be non-negative, got ${offset}`)
    this.fetcher.seek(state, offset)
  }

  /**
   * Whether a batch from `batches()` was overtaken after it was handed out: its partition was
   * seeked or unassigned since. Code that receives batches in one place and may seek in another
   * checks this where it takes a batch in, with no await in between.
   */
  isStale(batch: ConsumerBatch): boolean {
    const from = this.handedOut.get(batch)
    if (from === undefined) return false
    return from.state.generation !== from.generation || this.fetcher.get(from.state.topic, from.state.partition) !== from.state
  }

  /**
   * Where the partitions' logs start ('earliest') or end ('latest': the offset the next record
   * written will get; under read_committed the last stable offset), as their leaders answer now.
   * For a seek whose target must be known at once, to be committed.
   */
  async offsetsFor(partitions: readonly TopicPartition[], which: 'earliest' | 'latest'): Promise<Array<TopicPartition & { offset: bigint }>> {
    if (this.closed) throw new ClientClosedError('The consumer')
    await this.cluster.waitForTopics([...new Set(partitions.map((p) => p.topic))])
    const byLeader = new Map<number, TopicPartition[]>()
    for (const p of partitions) {
      const leader = this.cluster.leaderOf(p.topic, p.partition)
      if (leader === undefined) throw kafkaError(KafkaErrorCode.LEADER_NOT_AVAILABLE, { api: 'ListOffsets', topic: p.topic, partition: p.partition })
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), p])
    }
    const timestamp = which === 'earliest' ? -2n : -1n
    const answers = await Promise.all(
      [...byLeader].map(async ([leader, list]) => {
        const topics = [...new Set(list.map((p) => p.topic))].map((name) => ({
          name,
          partitions: list.filter((p) => p.topic === name).map((p) => ({ partitionIndex: p.partition, timestamp })),
        }))
        const response = await this.cluster.connectionTo(leader).request(ListOffsets, (version) => ({
          replicaId: -1,
          ...(version >= 2 ? { isolationLevel: this.readCommitted ? 1 : 0 } : {}),
          topics,
        }))
        return response.topics.flatMap((t) =>
          t.partitions.map((p) => {
            if (p.errorCode !== 0) throw kafkaError(p.errorCode, { api: 'ListOffsets', topic: t.name, partition: p.partitionIndex, broker: leader })
            return { topic: t.name, partition: p.partitionIndex, offset: p.offset }
          }),
        )
      }),
    )
    return answers.flat()
  }

  /** The offset of the next record the application will receive from the partition, once known. */
  position(partition: TopicPartition): bigint | null {
    return this.assigned(partition).position
  }

  /** Fetched bytes buffered for the partition and not yet handed out. */
  bufferedBytes(partition: TopicPartition): number {
    return this.assigned(partition).bufferedBytes
  }

  /**
   * Stops delivering records of the partitions until resume(); their buffered records wait. By
   * default fetching stops too. With `prefetch`, the fetcher goes on filling their buffers up to
   * maxBufferedBytesPerPartition, so that resume() hands records out at once instead of after a
   * fetch round trip: what a pipeline pausing a partition because its own queue is full wants.
   */
  pause(partitions: readonly TopicPartition[], options: PauseOptions = {}): void {
    for (const p of partitions) {
      const state = this.assigned(p)
      state.paused = true
      state.prefetchWhilePaused = options.prefetch === true
    }
    if (options.prefetch === true) this.fetcher.schedule()
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const p of partitions) {
      const state = this.assigned(p)
      state.paused = false
      state.prefetchWhilePaused = false
    }
    this.fetcher.schedule()
    this.notify()
  }

  paused(): TopicPartition[] {
    return [...this.fetcher.partitions.values()].filter((s) => s.paused).map((s) => ({ topic: s.topic, partition: s.partition }))
  }

  /**
   * Records one partition chunk at a time, until close(). Throws a partition's error (e.g.
   * OffsetOutOfRangeError with autoOffsetReset 'none', a KafkaError for authorization) when reached.
   * The partition's position moves past a batch when the next one is requested.
   */
  async *batches(): AsyncGenerator<ConsumerBatch, void, undefined> {
    while (!this.closed) {
      const current = await this.nextChunk()
      if (current === undefined) return
      const records = current.chunk.records.slice(current.index)
      current.index = current.chunk.records.length
      current.state.position = current.chunk.nextOffset
      const batch: ConsumerBatch = { topic: current.state.topic, partition: current.state.partition, records, highWatermark: current.chunk.highWatermark }
      this.handedOut.set(batch, { state: current.state, generation: current.chunk.generation })
      yield batch
    }
  }

  /**
   * Records one at a time, until close(). Leaving the loop early (break) loses nothing: the next
   * iteration continues with the record after the last one returned.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord, void, undefined> {
    while (!this.closed) {
      const current = await this.nextChunk()
      if (current === undefined) return
      const record = current.chunk.records[current.index++]!
      current.state.position = current.index < current.chunk.records.length ? record.offset + 1n : current.chunk.nextOffset
      yield record
    }
  }

  /** The chunk being handed out, or the next one once available; undefined after close(). */
  private async nextChunk(): Promise<Current | undefined> {
    for (;;) {
      if (this.closed) return undefined
      const current = this.current
      if (current !== null && current.index < current.chunk.records.length && current.state.generation === current.chunk.generation && !current.state.paused && this.fetcher.partitions.get(this.fetcher.key(current.state.topic, current.state.partition)) === current.state) {
        return current
      }
      if (current !== null && current.index < current.chunk.records.length && current.state.paused && current.state.generation === current.chunk.generation) {
        // Paused mid-chunk: put the rest back so it is delivered after resume().
        current.state.buffer.unshift({ ...current.chunk, records: current.chunk.records.slice(current.index), bytes: 0 })
      }
      this.current = null
      const next = this.takeChunk()
      if (next !== undefined) {
        this.current = { state: next.state, chunk: next.chunk, index: 0 }
        continue
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.fetcher.stop()
    this.notify()
    await this.cluster.close()
  }

  private takeChunk(): { state: PartitionState; chunk: BufferedChunk } | undefined {
    const states = [...this.fetcher.partitions.values()]
    for (let i = 0; i < states.length; i++) {
      const state = states[(this.cursor + i) % states.length]!
      if (state.paused) continue
      // Taking decodes: bytes that do not decode leave their error on the partition.
      const chunk = state.error === null ? this.fetcher.take(state) : undefined
      if (state.error !== null) {
        const error = state.error
        state.error = null
        this.cursor = (this.cursor + i + 1) % states.length
        throw error
      }
      if (chunk === undefined) continue
      this.cursor = (this.cursor + i + 1) % states.length
      return { state, chunk }
    }
    return undefined
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake()
  }

  private assigned(partition: TopicPartition): PartitionState {
    const state = this.fetcher.get(partition.topic, partition.partition)
    if (state === undefined) throw new InvalidRecordError(`topic ${JSON.stringify(partition.topic)} partition ${partition.partition} is not assigned to this consumer`)
    return state
  }
}

function validatePartition(p: PartitionAssignment): void {
  if (typeof p.topic !== 'string' || p.topic.length === 0) throw new InvalidRecordError('topic must be a non-empty string')
  if (!Number.isInteger(p.partition) || p.partition < 0) throw new InvalidRecordError(`partition must be a non-negative integer, got ${p.partition}`)
  if (typeof p.offset === 'bigint' && p.offset < 0n) throw new InvalidRecordError(`offset must be non-negative, got ${p.offset}`)
}
