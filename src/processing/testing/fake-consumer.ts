/**
 * An in-memory consumer group for tests: partition logs, committed offsets, members that implement
 * `ConsumerPort`, and rebalances scripted by the test (graceful revocation, loss). Everything it
 * does is recorded in `cluster.history`, in order, so a test can check that a commit came before
 * the release of a partition, and it emits each entry as a `history` event to wait on.
 *
 * It keeps the port's contract: `onRevoke` is awaited before the partitions are released, commits
 * are rejected with `StaleGenerationError` for partitions the member does not own or after it was
 * fenced, and a new owner's fetching starts at the committed offset. Commit metadata is stored
 * with the offset and handed to the next owner in `onAssign`, and refused above the broker's
 * limit as Kafka refuses it (that partition only; the others of the commit are stored), so a test
 * cannot pass with metadata a real broker would reject.
 */
import { EventEmitter } from 'node:events'
import type {
  AssignedPartition,
  ConsumerEvents,
  ConsumerPort,
  FetchedRecord,
  OffsetToCommit,
  ProducedRecord,
  ProducerPort,
  RecordHeader,
  SeekOffset,
  TopicPartition,
} from '../consumer-port.js'
import { PartitionNotOwnedError, partitionKey } from '../../client/index.js'
import { CommitMetadataTooLargeError, StaleGenerationError } from '../errors.js'

export type HistoryEntry =
  /** With the committed metadata each partition was handed, as `onAssign` got it. */
  | { readonly type: 'assigned'; readonly member: string; readonly partitions: readonly AssignedPartition[] }
  | {
      readonly type: 'revoking' | 'released' | 'lost' | 'paused' | 'resumed'
      readonly member: string
      readonly partitions: readonly TopicPartition[]
    }
  /** The offsets as committed, metadata included. */
  | { readonly type: 'committed'; readonly member: string; readonly offsets: readonly OffsetToCommit[] }
  | {
      readonly type: 'commit-rejected'
      readonly member: string
      readonly offsets: readonly OffsetToCommit[]
      /** stale: not owned or fenced (`StaleGenerationError`), the whole commit; metadata-too-large: the offsets over `offsetMetadataMaxBytes` (`CommitMetadataTooLargeError`). */
      readonly reason: 'stale' | 'metadata-too-large'
    }
  | { readonly type: 'joined' | 'left'; readonly member: string }

interface PartitionLog {
  readonly records: FetchedRecord[]
  /** The next offset to be written. */
  end: bigint
  owner: FakeConsumer | undefined
}

export interface FakeRecordInput {
  readonly key?: string | Buffer | null
  readonly value: string | Buffer | null
  readonly headers?: readonly RecordHeader[]
}

export interface FakeClusterOptions {
  /** The broker's offset.metadata.max.bytes: a commit with longer metadata (in UTF-8 bytes) is refused whole. Default 4096, as Kafka's. */
  readonly offsetMetadataMaxBytes?: number
}

interface Committed {
  readonly offset: bigint
  /** '' when committed without metadata, as Kafka stores it. */
  readonly metadata: string
}

export class FakeCluster extends EventEmitter {
  readonly history: HistoryEntry[] = []
  readonly offsetMetadataMaxBytes: number
  private readonly logs = new Map<string, PartitionLog>()
  private readonly committed = new Map<string, Committed>()

  constructor(options: FakeClusterOptions = {}) {
    super()
    this.offsetMetadataMaxBytes = options.offsetMetadataMaxBytes ?? 4096
  }

  createTopic(topic: string, partitions: number): void {
    for (let partition = 0; partition < partitions; partition++) {
      this.logs.set(partitionKey({ topic, partition }), { records: [], end: 0n, owner: undefined })
    }
  }

  /** Appends a record and returns its offset. */
  produce(topic: string, partition: number, input: FakeRecordInput): bigint {
    const log = this.log({ topic, partition })
    const offset = log.end++
    log.records.push({
      topic,
      partition,
      offset,
      timestamp: Date.now(),
      key: toBuffer(input.key ?? null),
      value: toBuffer(input.value),
      headers: input.headers ?? [],
    })
    this.wake(log)
    return offset
  }

  /** Uses up `count` offsets without a data record, as transaction markers and compaction do. */
  skipOffsets(topic: string, partition: number, count: number): void {
    const log = this.log({ topic, partition })
    log.end += BigInt(count)
    this.wake(log)
  }

  committedOffset(topic: string, partition: number): bigint | undefined {
    return this.committed.get(partitionKey({ topic, partition }))?.offset
  }

  /** The metadata stored with the committed offset: '' when it was committed without any, undefined when nothing was committed. */
  committedMetadata(topic: string, partition: number): string | undefined {
    return this.committed.get(partitionKey({ topic, partition }))?.metadata
  }

  endOffset(topic: string, partition: number): bigint {
    return this.log({ topic, partition }).end
  }

  member(id: string, options: { maxBatchRecords?: number } = {}): FakeConsumer {
    return new FakeConsumer(this, id, options.maxBatchRecords ?? 100)
  }

  /** Resolves with the first history entry (already recorded or future) that matches; rejects after `timeoutMs`. */
  waitFor(predicate: (entry: HistoryEntry) => boolean, timeoutMs = 5000): Promise<HistoryEntry> {
    const found = this.history.find(predicate)
    if (found !== undefined) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const onEntry = (entry: HistoryEntry): void => {
        if (!predicate(entry)) return
        clearTimeout(timer)
        this.off('history', onEntry)
        resolve(entry)
      }
      const timer = setTimeout(() => {
        this.off('history', onEntry)
        reject(new Error(`no matching history entry within ${timeoutMs} ms`))
      }, timeoutMs)
      this.on('history', onEntry)
    })
  }

  /** @internal */
  record(entry: HistoryEntry): void {
    this.history.push(entry)
    this.emit('history', entry)
  }

  /** @internal */
  log(tp: TopicPartition): PartitionLog {
    const log = this.logs.get(partitionKey(tp))
    if (log === undefined) throw new Error(`fake cluster: no partition ${tp.topic}[${tp.partition}]; call createTopic first`)
    return log
  }

  /** @internal */
  commitFor(member: FakeConsumer, offsets: readonly OffsetToCommit[]): void {
    for (const o of offsets) this.committed.set(partitionKey(o), { offset: o.offset, metadata: o.metadata ?? '' })
    this.record({ type: 'committed', member: member.id, offsets })
  }

  private wake(log: PartitionLog): void {
    log.owner?.scheduleDelivery()
  }
}

export class FakeConsumer implements ConsumerPort {
  private events: ConsumerEvents | undefined
  private readonly owned = new Map<string, { tp: TopicPartition; position: bigint }>()
  private readonly paused = new Set<string>()
  private fenced = false
  private closed = false
  private deliveryScheduled = false

  /** @internal */
  constructor(
    private readonly cluster: FakeCluster,
    readonly id: string,
    private readonly maxBatchRecords: number,
  ) {}

  start(_topics: readonly string[], events: ConsumerEvents): Promise<void> {
    this.events = events
    this.cluster.record({ type: 'joined', member: this.id })
    return Promise.resolve()
  }

  get assignment(): TopicPartition[] {
    return [...this.owned.values()].map((o) => o.tp)
  }

  isPaused(tp: TopicPartition): boolean {
    return this.paused.has(partitionKey(tp))
  }

  /** The group gives these partitions to this member: fetching starts at their committed offsets. */
  async assign(partitions: readonly TopicPartition[]): Promise<void> {
    const events = this.requireStarted()
    const assigned: AssignedPartition[] = []
    for (const tp of partitions) {
      const log = this.cluster.log(tp)
      if (log.owner !== undefined && log.owner !== this) {
        throw new Error(`fake cluster: ${tp.topic}[${tp.partition}] is still owned by ${log.owner.id}; revoke or lose it first`)
      }
      log.owner = this
      const offset = this.cluster.committedOffset(tp.topic, tp.partition)
      this.owned.set(partitionKey(tp), { tp, position: offset ?? 0n })
      // As the Kafka port does: empty metadata means none.
      const metadata = this.cluster.committedMetadata(tp.topic, tp.partition)
      const committed = offset === undefined ? null : { offset, metadata: metadata === undefined || metadata === '' ? null : metadata }
      assigned.push({ topic: tp.topic, partition: tp.partition, committed })
    }
    this.fenced = false
    this.cluster.record({ type: 'assigned', member: this.id, partitions: assigned })
    await events.onAssign(assigned)
    this.scheduleDelivery()
  }

  /** A graceful revocation: `onRevoke` runs with a valid generation; the partitions are released after it resolves. */
  async revoke(partitions: readonly TopicPartition[]): Promise<void> {
    const events = this.requireStarted()
    this.cluster.record({ type: 'revoking', member: this.id, partitions })
    await events.onRevoke(partitions)
    this.release(partitions)
    this.cluster.record({ type: 'released', member: this.id, partitions })
  }

  /** The member's generation ended (session timeout, fencing): the partitions are gone before `onLost` runs. */
  async lose(partitions: readonly TopicPartition[]): Promise<void> {
    const events = this.requireStarted()
    this.fenced = true
    this.release(partitions)
    this.cluster.record({ type: 'lost', member: this.id, partitions })
    await events.onLost(partitions)
  }

  /** Reports a fatal consumer error to the app, as a client that cannot go on would. */
  fail(error: Error): void {
    this.requireStarted().onFatal(error)
  }

  /** Ends the consumer as a crash would: no callbacks, partitions freed for others. */
  crash(): void {
    this.fenced = true
    this.closed = true
    this.release(this.assignment)
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.add(partitionKey(tp))
    this.cluster.record({ type: 'paused', member: this.id, partitions })
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.paused.delete(partitionKey(tp))
    this.cluster.record({ type: 'resumed', member: this.id, partitions })
    this.scheduleDelivery()
  }

  /** Fetching of an owned partition goes on from `offset`; what was delivered before stays delivered. */
  seek(tp: TopicPartition, offset: SeekOffset): void {
    const owned = this.owned.get(partitionKey(tp))
    if (owned === undefined) throw new PartitionNotOwnedError(tp.topic, tp.partition, 'seek', `the fake consumer ${this.id} was not assigned it`)
    owned.position = offset === 'earliest' ? 0n : offset === 'latest' ? this.cluster.log(tp).end : offset
    this.scheduleDelivery()
  }

  offsetOf(tp: TopicPartition, which: 'earliest' | 'latest'): Promise<bigint> {
    return Promise.resolve(which === 'earliest' ? 0n : this.cluster.log(tp).end)
  }

  commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    const notOwned = offsets.find((o) => !this.owned.has(partitionKey(o)))
    if (this.fenced || this.closed || notOwned !== undefined) {
      this.cluster.record({ type: 'commit-rejected', member: this.id, offsets, reason: 'stale' })
      const what = notOwned === undefined ? 'the member was fenced' : `${notOwned.topic}[${notOwned.partition}] is not owned by ${this.id}`
      return Promise.reject(new StaleGenerationError(`commit rejected: ${what}`))
    }
    const limit = this.cluster.offsetMetadataMaxBytes
    const over = (o: OffsetToCommit): boolean => o.metadata !== undefined && Buffer.byteLength(o.metadata) > limit
    const tooLarge = offsets.filter(over)
    const within = offsets.filter((o) => !over(o))
    // As Kafka's broker does: the partitions within the limit are stored, each one over it is
    // answered OFFSET_METADATA_TOO_LARGE, and the Kafka port rejects the commit for it.
    if (within.length > 0) this.cluster.commitFor(this, within)
    const first = tooLarge[0]
    if (first === undefined) return Promise.resolve()
    this.cluster.record({ type: 'commit-rejected', member: this.id, offsets: tooLarge, reason: 'metadata-too-large' })
    const size = Buffer.byteLength(first.metadata ?? '')
    return Promise.reject(
      new CommitMetadataTooLargeError(`the offset commit failed: metadata of ${first.topic}[${first.partition}] is ${size} bytes, over offset.metadata.max.bytes ${limit} (OFFSET_METADATA_TOO_LARGE)`),
    )
  }

  async close(): Promise<void> {
    if (this.closed) return
    const owned = this.assignment
    if (owned.length > 0) await this.revoke(owned)
    this.closed = true
    this.cluster.record({ type: 'left', member: this.id })
  }

  /** @internal */
  scheduleDelivery(): void {
    if (this.deliveryScheduled || this.closed || this.events === undefined) return
    this.deliveryScheduled = true
    setImmediate(() => {
      this.deliveryScheduled = false
      this.deliver()
    })
  }

  private deliver(): void {
    const events = this.events
    if (events === undefined || this.closed) return
    let more = false
    for (const [key, owned] of this.owned) {
      if (this.paused.has(key)) continue
      const log = this.cluster.log(owned.tp)
      if (owned.position >= log.end) continue
      const from = firstAtOrAfter(log.records, owned.position)
      const records = log.records.slice(from, from + this.maxBatchRecords)
      const last = records[records.length - 1]
      const full = records.length === this.maxBatchRecords && last !== undefined
      const nextOffset = full ? last.offset + 1n : log.end
      owned.position = nextOffset
      if (nextOffset < log.end) more = true
      events.onBatch({ ...owned.tp, records, nextOffset, highWatermark: log.end })
    }
    if (more) this.scheduleDelivery()
  }

  private release(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const log = this.cluster.log(tp)
      if (log.owner === this) log.owner = undefined
      this.owned.delete(partitionKey(tp))
      this.paused.delete(partitionKey(tp))
    }
  }

  private requireStarted(): ConsumerEvents {
    if (this.events === undefined) throw new Error(`fake consumer ${this.id}: not started; run the app first`)
    return this.events
  }
}

/** A producer that keeps what it was sent; `failNext` makes the next sends reject. */
export class FakeProducer extends EventEmitter implements ProducerPort {
  readonly sent: ProducedRecord[] = []
  private failures: Error[] = []

  failNext(count: number, error: Error = new Error('fake producer: send failed')): void {
    for (let i = 0; i < count; i++) this.failures.push(error)
  }

  send(record: ProducedRecord): Promise<void> {
    const failure = this.failures.shift()
    if (failure !== undefined) return Promise.reject(failure)
    this.sent.push(record)
    this.emit('sent', record)
    return Promise.resolve()
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

function firstAtOrAfter(records: readonly FetchedRecord[], offset: bigint): number {
  let low = 0
  let high = records.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if ((records[middle] as FetchedRecord).offset < offset) low = middle + 1
    else high = middle
  }
  return low
}

function toBuffer(value: string | Buffer | null): Buffer | null {
  return typeof value === 'string' ? Buffer.from(value) : value
}
