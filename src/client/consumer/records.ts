/**
 * Turning one partition's fetched bytes into the records a consumer delivers: skip what lies before
 * the fetch offset (a compressed batch is returned whole, from its first record), drop control
 * batches, and for read_committed drop the batches of aborted transactions (KIP-98) using the
 * aborted-transaction list the broker sends with the fetch.
 */
import type { RecordHeader } from '../../protocol/records/index.js'
import { decodeRecordBatches, lastV2Batch, type DecodedRecordBatch } from '../../protocol/records/index.js'

export interface ConsumerRecord {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly timestamp: number
  /** Views into the fetched bytes: copy them to keep them beyond the record's processing. */
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly headers: readonly RecordHeader[]
  readonly leaderEpoch: number
}

export interface AbortedTransaction {
  readonly producerId: bigint
  readonly firstOffset: bigint
}

export interface FetchedRecords {
  readonly records: ConsumerRecord[]
  /** Where the next fetch starts: past the last complete batch, even if it held nothing to deliver. */
  readonly nextOffset: bigint
  /** A batch larger than the bytes fetched: fetch again with at least this many bytes. */
  readonly tooLarge: number | null
  /** The leader epoch of the last whole batch (control batches too), -1 without one (KIP-320). */
  readonly lastEpoch: number
}

export interface DecodeFetchOptions {
  readonly topic: string
  readonly partition: number
  readonly fetchOffset: bigint
  readonly readCommitted: boolean
  /** Null or empty unless read_committed and the range holds aborted transactions. */
  readonly aborted: readonly AbortedTransaction[] | null
  readonly verifyCrc: boolean
}

export function recordsFromFetch(bytes: Buffer | null, options: DecodeFetchOptions): FetchedRecords {
  if (bytes === null || bytes.length === 0) return { records: [], nextOffset: options.fetchOffset, tooLarge: null, lastEpoch: -1 }
  const { batches, partialBatch } = decodeRecordBatches(bytes, { verifyCrc: options.verifyCrc })
  const kept = options.readCommitted ? withoutAborted(batches, options.aborted ?? []) : batches.filter((b) => !b.isControl)
  const records: ConsumerRecord[] = []
  for (const batch of kept) {
    if (batch.isControl) continue
    for (const record of batch.records) {
      if (record.offset < options.fetchOffset) continue
      records.push({
        topic: options.topic,
        partition: options.partition,
        offset: record.offset,
        timestamp: record.timestamp,
        key: record.key,
        value: record.value,
        headers: record.headers,
        leaderEpoch: batch.partitionLeaderEpoch,
      })
    }
  }
  const last = batches.at(-1)
  const nextOffset = last === undefined ? options.fetchOffset : maxBigint(options.fetchOffset, last.lastOffset + 1n)
  const tooLarge = batches.length === 0 && partialBatch !== null ? (partialBatch.sizeInBytes ?? bytes.length * 2) : null
  return { records, nextOffset, tooLarge, lastEpoch: last?.partitionLeaderEpoch ?? -1 }
}

/** What a fetch's bytes lead to, read from the batch headers alone. */
export type FetchedRange = Omit<FetchedRecords, 'records'>

/**
 * Where the next fetch starts after these bytes, from the v2 batch headers alone (no CRC, no
 * records), so that the next fetch can be on its way while these are decoded; the records then
 * come from `recordsFromFetch` with the same answer for the offsets. Null for anything but well
 * framed v2 batches (legacy message sets, corrupt framing): decode those at once.
 */
export function rangeOfFetch(bytes: Buffer | null, fetchOffset: bigint): FetchedRange | null {
  if (bytes === null || bytes.length === 0) return { nextOffset: fetchOffset, tooLarge: null, lastEpoch: -1 }
  const read = lastV2Batch(bytes)
  if (read === null) return null
  const { last, partialBatch } = read
  if (last === null) return { nextOffset: fetchOffset, tooLarge: partialBatch === null ? null : (partialBatch.sizeInBytes ?? bytes.length * 2), lastEpoch: -1 }
  return { nextOffset: maxBigint(fetchOffset, last.lastOffset + 1n), tooLarge: null, lastEpoch: last.partitionLeaderEpoch }
}

/**
 * Drops data batches of aborted transactions. A producer's batches are aborted from the
 * transaction's first offset up to its ABORT marker; the broker lists each aborted transaction
 * with its first offset, so the walk adds a producer to the aborted set when its first offset is
 * reached and removes it at its marker.
 */
export function withoutAborted(batches: readonly DecodedRecordBatch[], aborted: readonly AbortedTransaction[]): DecodedRecordBatch[] {
  const pending = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
  const abortedProducers = new Set<bigint>()
  const kept: DecodedRecordBatch[] = []
  for (const batch of batches) {
    while (pending.length > 0 && pending[0]!.firstOffset <= batch.lastOffset) abortedProducers.add(pending.shift()!.producerId)
    if (batch.isControl) {
      if (batch.records.some((r) => r.type === 'abort')) abortedProducers.delete(batch.producerId)
      continue
    }
    if (batch.isTransactional && abortedProducers.has(batch.producerId)) continue
    kept.push(batch)
  }
  return kept
}

function maxBigint(a: bigint, b: bigint): bigint {
  return a > b ? a : b
}
