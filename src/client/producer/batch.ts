/**
 * Records waiting to be sent, grouped per partition into batches (the record accumulator). Each
 * record carries what settles it: the callbacks of its own `send()` promise, or a slot in the one
 * promise of a `sendBatch()` call (no promise per record). A batch settles all of its records
 * together, with consecutive offsets from the batch's base offset.
 */
import type { CompressionCodec, RecordInput } from '../../protocol/records/index.js'
import { encodeRecordBatch } from '../../protocol/records/index.js'

/** Where a record landed. `offset` is -1 when acks=0 (the broker does not say). */
export interface RecordMetadata {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  /** The record's timestamp, or the broker's append time for topics with LogAppendTime. */
  readonly timestamp: number
}

export interface Delivery {
  readonly resolve: (metadata: RecordMetadata) => void
  readonly reject: (error: Error) => void
}

/** The one promise of a sendBatch() call: resolves when every record is acknowledged, rejects on the first failure. */
export class SendGroup {
  readonly results: RecordMetadata[]
  readonly promise: Promise<RecordMetadata[]>
  private remaining: number
  private resolveAll!: (results: RecordMetadata[]) => void
  private rejectAll!: (error: Error) => void
  private failed = false

  constructor(count: number) {
    this.results = new Array<RecordMetadata>(count)
    this.remaining = count
    this.promise = new Promise<RecordMetadata[]>((resolve, reject) => {
      this.resolveAll = resolve
      this.rejectAll = reject
    })
    if (count === 0) this.resolveAll(this.results)
  }

  settle(slot: number, metadata: RecordMetadata): void {
    this.results[slot] = metadata
    if (--this.remaining === 0 && !this.failed) this.resolveAll(this.results)
  }

  fail(error: Error): void {
    if (this.failed) return
    this.failed = true
    this.rejectAll(error)
  }
}

/** Bytes a record adds to a batch, before compression (a close upper estimate of the v2 layout). */
export function estimateRecordSize(record: RecordInput): number {
  let size = 21 + byteLength(record.key ?? null) + byteLength(record.value)
  if (record.headers !== undefined) for (const header of record.headers) size += 10 + Buffer.byteLength(header.key) + byteLength(header.value)
  return size
}

function byteLength(value: Uint8Array | string | null): number {
  if (value === null) return 0
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length
}

/** Fixed bytes of a v2 batch header. */
const BATCH_OVERHEAD = 61
const MAX_SEQUENCE = 2 ** 31 - 1

export class ProducerBatch {
  readonly records: RecordInput[] = []
  /** Per record: its own delivery, or the sendBatch group it belongs to (with its slot in `slots`). */
  private readonly owners: Array<Delivery | SendGroup> = []
  private readonly slots: number[] = []
  private readonly sizes: number[] = []
  sizeBytes = BATCH_OVERHEAD
  /** What the records reserved in the producer's buffer. */
  recordBytes = 0
  readonly createdAt: number
  /** Set on first send (idempotent producers); cleared when the producer epoch is bumped. */
  baseSequence: number | null = null
  attempts = 0
  /** Not sent again before this time (retry backoff). */
  retryAt = 0
  lastError: unknown = undefined
  /** Sent, and no answer came back (dropped connection, timeout): it may have been written. */
  inDoubt = false
  /** A request carrying it is waiting for its answer. */
  onWire = false
  /** Holds records of a sendBatch() call, which brought its records at once: it goes out without waiting for lingerMs. */
  skipLinger = false
  private encoded: { buffer: Buffer; producerId: bigint; producerEpoch: number; baseSequence: number | null; transactional: boolean } | null = null
  private settled = false
  /** The sender's reusable buffer the current encoding lives in, if any (see takeSpareBuffer). */
  private spareBuffer: Buffer | null = null
  /** Made only when someone waits for it (flush, a split): most batches are never waited on. */
  private whenDone: Promise<void> | null = null
  private markDone: (() => void) | null = null

  constructor(
    readonly topic: string,
    readonly partition: number,
    now: number,
  ) {
    this.createdAt = now
  }

  get count(): number {
    return this.records.length
  }

  /** Resolves once every record of the batch is settled, successfully or not. */
  get done(): Promise<void> {
    if (this.whenDone === null) this.whenDone = this.settled ? Promise.resolve() : new Promise<void>((resolve) => (this.markDone = resolve))
    return this.whenDone
  }

  add(record: RecordInput, size: number, owner: Delivery | SendGroup, slot = -1): void {
    this.records.push(record)
    this.owners.push(owner)
    this.slots.push(slot)
    this.sizes.push(size)
    this.sizeBytes += size
    this.recordBytes += size
  }

  /**
   * Two batches of half the records each, for a batch the broker refused as too large. They keep
   * this batch's sequence range (the first half from its base sequence, the second right after),
   * so the batches behind them stay valid. The caller settles nothing: the halves carry the deliveries.
   */
  split(): [ProducerBatch, ProducerBatch] {
    const half = Math.ceil(this.count / 2)
    const halves: [ProducerBatch, ProducerBatch] = [new ProducerBatch(this.topic, this.partition, this.createdAt), new ProducerBatch(this.topic, this.partition, this.createdAt)]
    for (let i = 0; i < this.count; i++) halves[i < half ? 0 : 1].add(this.records[i]!, this.sizes[i]!, this.owners[i]!, this.slots[i])
    for (const part of halves) {
      part.attempts = this.attempts
      part.lastError = this.lastError
    }
    if (this.baseSequence !== null) {
      halves[0].baseSequence = this.baseSequence
      halves[1].baseSequence = (this.baseSequence + half) % (MAX_SEQUENCE + 1)
    }
    // The halves' done promises stand for this one's: flush() may be waiting on it.
    const markDone = this.markDone
    if (markDone !== null) void Promise.all([halves[0].done, halves[1].done]).then(markDone)
    this.markDone = null
    this.settled = true
    return halves
  }

  /** The wire bytes for a producer id, epoch and sequence; re-encoded only when those change. */
  encode(compression: CompressionCodec, producerId: bigint, producerEpoch: number, transactional: boolean, spare?: (size: number) => Buffer | undefined): Buffer {
    const last = this.encoded
    if (last !== null && last.producerId === producerId && last.producerEpoch === producerEpoch && last.baseSequence === this.baseSequence && last.transactional === transactional) return last.buffer
    // A buffer encoded before (other ids or sequences) may still be on the wire: it is never reused.
    const into = compression === 'none' ? spare?.(this.sizeBytes) : undefined
    const buffer = encodeRecordBatch({
      records: this.records,
      compression,
      producerId,
      producerEpoch,
      baseSequence: this.baseSequence ?? -1,
      transactional,
      into,
    })
    this.spareBuffer = into !== undefined && buffer.buffer === into.buffer && buffer.byteOffset === into.byteOffset ? into : null
    this.encoded = { buffer, producerId, producerEpoch, baseSequence: this.baseSequence, transactional }
    return buffer
  }

  /**
   * The reusable buffer this batch was last encoded into, once the broker has acknowledged it (so
   * no request still carries it); null when it was not encoded into one.
   */
  takeSpareBuffer(): Buffer | null {
    const buffer = this.spareBuffer
    this.spareBuffer = null
    return buffer
  }

  succeed(baseOffset: bigint, logAppendTime: bigint): void {
    if (this.settled) return
    this.settled = true
    const appendTime = logAppendTime >= 0n ? Number(logAppendTime) : -1
    for (let i = 0; i < this.owners.length; i++) {
      const metadata: RecordMetadata = {
        topic: this.topic,
        partition: this.partition,
        offset: baseOffset < 0n ? -1n : baseOffset + BigInt(i),
        timestamp: appendTime >= 0 ? appendTime : this.records[i]!.timestamp,
      }
      const owner = this.owners[i]!
      if (owner instanceof SendGroup) owner.settle(this.slots[i]!, metadata)
      else owner.resolve(metadata)
    }
    this.encoded = null
    this.markDone?.()
  }

  fail(error: Error): void {
    if (this.settled) return
    this.settled = true
    for (const owner of this.owners) {
      if (owner instanceof SendGroup) owner.fail(error)
      else owner.reject(error)
    }
    this.encoded = null
    this.markDone?.()
  }
}

/**
 * The batches of one partition, oldest first. The first `inFlight` of them are on the wire (sends
 * go out in order, so those on the wire are always a prefix), and `rewinding` holds further sends
 * after an error until every batch on the wire has come back, so the partition resends in order.
 */
export interface PartitionQueue {
  readonly topic: string
  readonly partition: number
  /** `partitionKey(topic, partition)`, built once: the producer's sequence numbers are kept under it. */
  readonly key: string
  readonly batches: ProducerBatch[]
  inFlight: number
  rewinding: boolean
}
