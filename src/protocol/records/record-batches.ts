import { DecodeError } from '../errors/base.js'
import { BATCH_LENGTH_AT, LAST_OFFSET_DELTA_AT, LOG_OVERHEAD, MAGIC_AT, MAGIC_V0, MAGIC_V1, MAGIC_V2, MIN_LEGACY_MESSAGE_SIZE, PARTITION_LEADER_EPOCH_AT, RECORDS_AT } from './batch-layout.js'
import { corruptRecords } from './corrupt.js'
import { decodeLegacyEntryAt } from './legacy-message-set.js'
import { decodeV2BatchAt } from './record-batch-decoder.js'
import type { DecodedRecordBatch, DecodedRecordBatches, DecodeRecordBatchOptions, PartialBatch } from './types.js'

/**
 * Walks the log entries of a fetch response's `records` bytes. Every entry, legacy or v2, starts
 * with offset int64 + size int32, and its magic byte sits at byte 16 in both formats, which is how
 * the two are told apart. Calls `onEntry` for each complete entry and returns the cut-off tail.
 */
export function forEachLogEntry(
  buffer: Buffer,
  onEntry: (magic: number, start: number, end: number) => void,
): { bytesRead: number; partialBatch: PartialBatch | null } {
  let position = 0
  while (position < buffer.length) {
    const available = buffer.length - position
    if (available < LOG_OVERHEAD) {
      const baseOffset = available >= 8 ? buffer.readBigInt64BE(position) : null
      return { bytesRead: position, partialBatch: { position, baseOffset, sizeInBytes: null, availableBytes: available } }
    }
    const size = buffer.readInt32BE(position + BATCH_LENGTH_AT)
    if (size < 0) throw new DecodeError('DECODE_NEGATIVE_LENGTH', `log entry at byte ${position} has negative size ${size}`)
    if (size < MIN_LEGACY_MESSAGE_SIZE) throw corruptRecords(`log entry at byte ${position} has size ${size}, below any message's`)
    const end = position + LOG_OVERHEAD + size
    if (end > buffer.length) {
      // The broker stopped at the fetch's byte limit in the middle of this entry.
      const partialBatch = { position, baseOffset: buffer.readBigInt64BE(position), sizeInBytes: LOG_OVERHEAD + size, availableBytes: available }
      return { bytesRead: position, partialBatch }
    }
    onEntry(buffer.readInt8(position + MAGIC_AT), position, end)
    position = end
  }
  return { bytesRead: position, partialBatch: null }
}

/**
 * Decodes a fetch response's records: any mix of v2 batches and legacy message sets, in order,
 * skipping (and reporting in `partialBatch`) an incomplete last batch. Every record carries its
 * absolute offset and timestamp; keys and values are views into `buffer` or a decompressed copy.
 */
export function decodeRecordBatches(buffer: Buffer, options: DecodeRecordBatchOptions = {}): DecodedRecordBatches {
  const batches: DecodedRecordBatch[] = []
  const { bytesRead, partialBatch } = forEachLogEntry(buffer, (magic, start, end) => {
    if (magic === MAGIC_V2) batches.push(decodeV2BatchAt(buffer, start, end, options))
    else if (magic === MAGIC_V0 || magic === MAGIC_V1) batches.push(decodeLegacyEntryAt(buffer, start, end, options))
    else throw new DecodeError('DECODE_UNSUPPORTED_VERSION', `log entry at byte ${start} has unknown magic ${magic}`)
  })
  return { batches, bytesDecoded: bytesRead, partialBatch }
}

/** The last complete batch of bytes holding v2 batches, as `lastV2Batch` reads it. */
export interface LastBatch {
  /** Null when no batch is complete. */
  readonly last: { readonly lastOffset: bigint; readonly partitionLeaderEpoch: number } | null
  readonly partialBatch: PartialBatch | null
}

/**
 * Where bytes of v2 batches end, from the batch framing and the last batch's header alone: no
 * CRC, no records, no object per batch. Null when an entry is not a v2 batch or the framing is
 * broken (a legacy message set, corrupt bytes): only a full decode can tell where those end.
 */
export function lastV2Batch(buffer: Buffer): LastBatch | null {
  let lastStart = -1
  let framed = true
  let walk
  try {
    walk = forEachLogEntry(buffer, (magic, start, end) => {
      if (magic !== MAGIC_V2 || end - start < RECORDS_AT) framed = false
      lastStart = start
    })
  } catch {
    return null
  }
  if (!framed) return null
  if (lastStart < 0) return { last: null, partialBatch: walk.partialBatch }
  const lastOffset = buffer.readBigInt64BE(lastStart) + BigInt(buffer.readInt32BE(lastStart + LAST_OFFSET_DELTA_AT))
  return { last: { lastOffset, partitionLeaderEpoch: buffer.readInt32BE(lastStart + PARTITION_LEADER_EPOCH_AT) }, partialBatch: walk.partialBatch }
}
