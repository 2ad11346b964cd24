export { crc32c } from './crc32c.js'
export { crc32 } from './crc32.js'
export {
  type CompressionCodec,
  compress,
  compressionCodecFromId,
  compressionCodecId,
  decompress,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
} from './compression.js'
export { encodeRecordBatch, encodeControlBatch, type RecordBatchInput, type ControlBatchInput } from './record-batch-encoder.js'
export { decodeRecordBatch } from './record-batch-decoder.js'
export { decodeRecordBatches, lastV2Batch, type LastBatch } from './record-batches.js'
export { RecordBatchView, sliceRecordBatches } from './record-batch-view.js'
export { decodeControlRecord, CONTROL_TYPE_ABORT, CONTROL_TYPE_COMMIT } from './control-record.js'
export { NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, NO_TIMESTAMP } from './batch-layout.js'
export type {
  ControlRecord,
  ControlRecordBatch,
  DataRecordBatch,
  DecodedRecord,
  DecodedRecordBatch,
  DecodedRecordBatches,
  DecodeRecordBatchOptions,
  EndTransactionMarker,
  PartialBatch,
  RecordBatchHeader,
  RecordHeader,
  RecordHeaderInput,
  RecordInput,
  TimestampType,
  UnknownControlRecord,
} from './types.js'
