import type { CompressionCodec } from './compression.js'

/** Bit 3 of the attributes: the producer's clock, or the broker's when the topic says LogAppendTime. */
export type TimestampType = 'create-time' | 'log-append-time'

/** A header as given to the encoder: the key is a string, the value bytes (strings are UTF-8 encoded). */
export interface RecordHeaderInput {
  readonly key: string
  readonly value: Uint8Array | string | null
}

/** A header as decoded. `value` is a view into the decoded buffer, not a copy. */
export interface RecordHeader {
  readonly key: string
  readonly value: Buffer | null
}

/** One record for the encoder. Strings are UTF-8 encoded; a missing key is null. */
export interface RecordInput {
  readonly key?: Uint8Array | string | null
  readonly value: Uint8Array | string | null
  readonly headers?: readonly RecordHeaderInput[]
  /** Milliseconds since the epoch. */
  readonly timestamp: number
}

/**
 * One decoded record with its absolute offset and timestamp. `key`, `value` and header values are
 * views into the fetched (or decompressed) buffer: copy them to keep them beyond that buffer's life.
 */
export interface DecodedRecord {
  readonly offset: bigint
  readonly timestamp: number
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: readonly RecordHeader[]
}

/** The fields every batch has, whatever its magic. Legacy batches (magic 0/1) carry the "none" values (-1). */
export interface RecordBatchHeader {
  readonly magic: number
  readonly baseOffset: bigint
  readonly lastOffsetDelta: number
  /** baseOffset + lastOffsetDelta: the next fetch starts after it, even if compaction emptied the batch. */
  readonly lastOffset: bigint
  readonly partitionLeaderEpoch: number
  readonly compression: CompressionCodec
  readonly timestampType: TimestampType
  readonly isTransactional: boolean
  readonly isControl: boolean
  /** KIP-534: when the log cleaner set it, baseTimestamp is the delete horizon. */
  readonly deleteHorizonMs: number | null
  readonly baseTimestamp: number
  readonly maxTimestamp: number
  readonly producerId: bigint
  readonly producerEpoch: number
  readonly baseSequence: number
  readonly recordCount: number
  /** Bytes the batch takes in its log entry, framing included. */
  readonly sizeInBytes: number
}

/** Type 0 (ABORT) and 1 (COMMIT) control records: the end of a transaction (KIP-98). */
export interface EndTransactionMarker {
  readonly type: 'abort' | 'commit'
  readonly offset: bigint
  readonly timestamp: number
  readonly keyVersion: number
  readonly valueVersion: number
  readonly coordinatorEpoch: number
}

/** Any other control type (KRaft's leader change and snapshot markers, KIP-595/630): kept raw. */
export interface UnknownControlRecord {
  readonly type: 'unknown'
  readonly typeId: number
  readonly offset: bigint
  readonly timestamp: number
  readonly keyVersion: number
  readonly key: Buffer
  readonly value: Buffer | null
}

export type ControlRecord = EndTransactionMarker | UnknownControlRecord

export interface DataRecordBatch extends RecordBatchHeader {
  readonly isControl: false
  readonly records: DecodedRecord[]
}

export interface ControlRecordBatch extends RecordBatchHeader {
  readonly isControl: true
  readonly records: ControlRecord[]
}

export type DecodedRecordBatch = DataRecordBatch | ControlRecordBatch

export interface DecodeRecordBatchOptions {
  /** Check each batch's CRC (CRC-32C for v2, CRC-32 for legacy messages). Default true. */
  readonly verifyCrc?: boolean
  /** Cap on one compressed payload's decompressed size. Default DEFAULT_MAX_DECOMPRESSED_BYTES. */
  readonly maxDecompressedBytes?: number
}

/**
 * The incomplete batch at the end of a fetch response. Brokers cut the response at the requested
 * max bytes, so this is expected, not an error; if it is the only thing fetched, the consumer
 * must fetch again with at least `sizeInBytes` bytes.
 */
export interface PartialBatch {
  /** Where it starts in the decoded buffer. */
  readonly position: number
  /** Null when fewer than 8 bytes of it arrived. */
  readonly baseOffset: bigint | null
  /** Its full size, framing included; null when fewer than 12 bytes arrived. */
  readonly sizeInBytes: number | null
  readonly availableBytes: number
}

export interface DecodedRecordBatches {
  readonly batches: DecodedRecordBatch[]
  /** Bytes of complete batches, from the start of the buffer. */
  readonly bytesDecoded: number
  readonly partialBatch: PartialBatch | null
}
