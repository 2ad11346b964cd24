/**
 * Records waiting to be sent, grouped per partition into batches (the record accumulator). Each
 * record carries the callbacks that settle its `send()` promise; a batch settles all of its
 * records together, with consecutive offsets from the batch's base offset.
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

interface Delivery {
  readonly resolve: (metadata: RecordMetadata) => void
  readonly reject: (error: Error) => void
}

/** Bytes a record adds to a batch, before compression (a close upper estimate of the v2 layout). */
export function estimateRecordSize(record: RecordInput): number {
  let size = 21 + byteLength(record.key ?? null) + byteLength(record.value)
  for (const header of record.headers ?? []) size += 10 + Buffer.byteLength(header.key) + byteLength(header.value)
  return size
}

function byteLength(value: Uint8Array | string | null): number {
  if (value === null) return 0
  return typeof value === 'string' ? Buffer.byteLength(value) : value.length
}

/** Fixed bytes of a v2 batch header. */
const BATCH_OVERHEAD = 61

export class ProducerBatch {
  readonly records: RecordInput[] = []
  private readonly deliveries: Delivery[] = []
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
  private encoded: { buffer: Buffer; key: string } | null = null
  private settled = false
  private readonly whenDone: Promise<void>
  private markDone!: () => void

  constructor(
    readonly topic: string,
    readonly partition: number,
    now: number,
  ) {
    this.createdAt = now
    this.whenDone = new Promise<void>((resolve) => (this.markDone = resolve))
  }

  get count(): number {
    return this.records.length
  }

  /** Resolves once every record of the batch is settled, successfully or not. */
  get done(): Promise<void> {
    return this.whenDone
  }

  add(record: RecordInput, size: number, delivery: Delivery): void {
    this.records.push(record)
    this.deliveries.push(delivery)
    this.sizeBytes += size
    this.recordBytes += size
  }

  /** The wire bytes for a producer id, epoch and sequence; re-encoded only when those change. */
  encode(compression: CompressionCodec, producerId: bigint, producerEpoch: number, transactional: boolean): Buffer {
    const key = `${producerId}:${producerEpoch}:${this.baseSequence ?? -1}`
    if (this.encoded?.key === key) return this.encoded.buffer
    const buffer = encodeRecordBatch({
      records: this.records,
      compression,
      producerId,
      producerEpoch,
      baseSequence: this.baseSequence ?? -1,
      transactional,
    })
    this.encoded = { buffer, key }
    return buffer
  }

  succeed(baseOffset: bigint, logAppendTime: bigint): void {
    if (this.settled) return
    this.settled = true
    const appendTime = logAppendTime >= 0n ? Number(logAppendTime) : -1
    for (let i = 0; i < this.deliveries.length; i++) {
      this.deliveries[i]!.resolve({
        topic: this.topic,
        partition: this.partition,
        offset: baseOffset < 0n ? -1n : baseOffset + BigInt(i),
        timestamp: appendTime >= 0 ? appendTime : this.records[i]!.timestamp,
      })
    }
    this.markDone()
  }

  fail(error: Error): void {
    if (this.settled) return
    this.settled = true
    for (const delivery of this.deliveries) delivery.reject(error)
    this.markDone()
  }
}

/** The batches of one partition, oldest first, and whether one of them is on the wire. */
export interface PartitionQueue {
  readonly topic: string
  readonly partition: number
  readonly batches: ProducerBatch[]
  inFlight: boolean
}
