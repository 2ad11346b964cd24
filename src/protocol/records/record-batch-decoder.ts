import { DecodeError } from '../errors/base.js'
import { readV2Header, v2BatchEnd, verifyV2Crc } from './batch-header.js'
import { RECORDS_AT } from './batch-layout.js'
import { DEFAULT_MAX_DECOMPRESSED_BYTES, decompress } from './compression.js'
import { decodeControlRecord } from './control-record.js'
import { corruptRecords, withinCompleteFrame } from './corrupt.js'
import { decodeRecordBodies } from './records-decoder.js'
import type { DecodedRecord, DecodedRecordBatch, DecodeRecordBatchOptions, RecordBatchHeader } from './types.js'

/**
 * Decodes the v2 batch occupying exactly [start, end) of `buffer`, already framed by the caller
 * (v2BatchEnd or the fetch loop): CRC, header, then the records, decompressed first if need be.
 */
export function decodeV2BatchAt(buffer: Buffer, start: number, end: number, options: DecodeRecordBatchOptions = {}): DecodedRecordBatch {
  if (end - start < RECORDS_AT) throw corruptRecords(`record batch at byte ${start} is ${end - start} bytes, less than its header`)
  if (options.verifyCrc !== false) verifyV2Crc(buffer, start, end)
  const header = readV2Header(buffer, start, end)
  const records = withinCompleteFrame(`record batch at offset ${header.baseOffset}`, () => decodeRecordsOf(header, buffer, start, end, options))
  if (header.isControl) return { ...header, isControl: true, records: records.map(decodeControlRecord) }
  return { ...header, isControl: false, records }
}

function decodeRecordsOf(
  header: RecordBatchHeader,
  buffer: Buffer,
  start: number,
  end: number,
  options: DecodeRecordBatchOptions,
): DecodedRecord[] {
  const logAppendTime = header.timestampType === 'log-append-time' ? header.maxTimestamp : null
  if (header.recordCount === 0) {
    // Compaction may leave empty batches (to keep producer state); like Kafka, their payload is not read.
    if (header.compression === 'none' && end !== start + RECORDS_AT) {
      throw corruptRecords(`record batch at offset ${header.baseOffset} declares no records but carries ${end - start - RECORDS_AT} bytes`)
    }
    return []
  }
  if (header.compression === 'none') {
    return decodeRecordBodies(buffer, start + RECORDS_AT, end, header.recordCount, header.baseOffset, header.baseTimestamp, logAppendTime)
  }
  const payload = decompress(
    header.compression,
    buffer.subarray(start + RECORDS_AT, end),
    options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES,
  )
  return decodeRecordBodies(payload, 0, payload.length, header.recordCount, header.baseOffset, header.baseTimestamp, logAppendTime)
}

/**
 * Decodes one complete magic v2 batch that fills `buffer` exactly (a produce request's records,
 * a batch read from a log). For a fetch response, which may hold several batches, legacy message
 * sets and a cut-off tail, use `decodeRecordBatches`.
 */
export function decodeRecordBatch(buffer: Buffer, options: DecodeRecordBatchOptions = {}): DecodedRecordBatch {
  const end = v2BatchEnd(buffer, 0)
  if (end !== buffer.length) {
    throw new DecodeError('DECODE_TRAILING_BYTES', `${buffer.length - end} bytes after the record batch; use decodeRecordBatches for several`)
  }
  return decodeV2BatchAt(buffer, 0, end, options)
}
