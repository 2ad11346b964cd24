/**
 * The broker's view of record batches: framing, CRC, header fields, and the two in-place rewrites a
 * leader makes on append (offsets and, for LogAppendTime topics, the timestamp). Every use of the
 * records layer goes through this file.
 *
 * The rewrites follow Kafka's leader: the producer's bytes are stored as they came (compression kept
 * as produced), only header fields change. baseOffset and partitionLeaderEpoch lie before the
 * attributes, outside what the CRC-32C covers, so assigning offsets needs no new CRC; a timestamp
 * change does, and the records layer recomputes it.
 */
import { encodeControlBatch, RecordBatchView, type RecordBatchHeader } from '../../protocol/records/index.js'

export type { RecordBatchHeader }

/**
 * Checks framing, magic 2, CRC and codec of the batch at `start` and returns its header and end.
 * Throws the records layer's DecodeError (DECODE_TRUNCATED, DECODE_CRC_MISMATCH, ...) otherwise.
 */
export function readVerifiedBatch(buffer: Buffer, start: number): { header: RecordBatchHeader; end: number } {
  const view = RecordBatchView.at(buffer, start)
  return { header: view.header(), end: start + view.sizeInBytes }
}

/** Writes the offsets the leader assigned and its leader epoch into the batch, in place. */
export function assignOffsets(batch: Buffer, baseOffset: number, leaderEpoch: number): void {
  const view = RecordBatchView.at(batch, 0, { verifyCrc: false })
  view.setBaseOffset(BigInt(baseOffset))
  view.setPartitionLeaderEpoch(leaderEpoch)
}

/** Marks the batch as LogAppendTime with the broker's clock as its max timestamp (CRC recomputed). */
export function setLogAppendTime(batch: Buffer, now: number): void {
  RecordBatchView.at(batch, 0, { verifyCrc: false }).setLogAppendTime(now)
}

/** Offsets and timestamps of the records of one stored batch, for ListOffsets by timestamp. */
export function recordTimestamps(batch: Buffer): { offset: number; timestamp: number }[] {
  return RecordBatchView.at(batch, 0, { verifyCrc: false })
    .decode()
    .records.map((record) => ({ offset: Number(record.offset), timestamp: record.timestamp }))
}

/** The end-transaction marker a control batch carries, or null for another control record type. */
export function endTransactionMarkerOf(batch: Buffer): 'commit' | 'abort' | null {
  const decoded = RecordBatchView.at(batch, 0, { verifyCrc: false }).decode({ verifyCrc: false })
  if (!decoded.isControl) return null
  const record = decoded.records[0]
  return record === undefined || record.type === 'unknown' ? null : record.type
}

/** A control batch ending a transaction of `producerId` on one partition, offsets still to be assigned. */
export function encodeEndTransactionMarker(marker: 'commit' | 'abort', producerId: bigint, producerEpoch: number, coordinatorEpoch: number, now: number): Buffer {
  return encodeControlBatch({ marker, producerId, producerEpoch, coordinatorEpoch, timestamp: now })
}
