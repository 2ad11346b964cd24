/** Record batches for broker tests, built with the protocol layer's encoder. */
import { decodeRecordBatches, encodeRecordBatch, type CompressionCodec } from '../../../src/protocol/records/index.js'

export function batchOf(values: string[], options: { compression?: CompressionCodec; producerId?: bigint; producerEpoch?: number; baseSequence?: number; timestamp?: number } = {}): Buffer {
  const timestamp = options.timestamp ?? Date.now()
  return encodeRecordBatch({
    records: values.map((value, i) => ({ key: `k${i}`, value, timestamp: timestamp + i })),
    compression: options.compression ?? 'none',
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    baseSequence: options.baseSequence,
  })
}

/** Every record value in fetched bytes, with its offset. */
export function valuesIn(records: Buffer | null): { offset: bigint; value: string }[] {
  if (records === null || records.length === 0) return []
  return decodeRecordBatches(records).batches.flatMap((b) => (b.isControl ? [] : b.records.map((r) => ({ offset: r.offset, value: r.value?.toString() ?? "" }))))
}
