/**
 * KafkaJS 2.2.4's own protocol encoders and decoders, used as a reference implementation that
 * baton did not write: its bytes are decoded by baton, and baton's bytes compared with its bytes.
 * KafkaJS ships no types for these internal modules; the shapes below are what the tests use.
 */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

interface KafkaJsEncoder {
  readonly buffer: Buffer
}

export interface KafkaJsRecordFields {
  offsetDelta: number
  timestampDelta: number
  key: Buffer | string | null
  value: Buffer | string | null
  headers?: Record<string, Buffer | string>
}

export interface KafkaJsBatchFields {
  compression: number
  records: KafkaJsEncoder[]
  firstOffset?: bigint
  firstTimestamp: number
  maxTimestamp: number
  lastOffsetDelta: number
  partitionLeaderEpoch?: number
  producerId?: bigint
  producerEpoch?: number
  firstSequence?: number
  transactional?: boolean
}

export interface KafkaJsMessageEntry {
  key?: Buffer | string | null
  value: Buffer | string | null
  timestamp?: number
  compression?: number
}

export interface KafkaJsDecodedRecord {
  offset: string
  timestamp: string
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, Buffer | Buffer[]>
}

export interface KafkaJsDecodedMessage {
  offset: string
  magicByte: number
  attributes: number
  timestamp?: string
  key: Buffer | null
  value: Buffer | null
}

export const KAFKAJS_CODEC = { none: 0, gzip: 1 } as const

const recordEncoder = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (fields: KafkaJsRecordFields) => KafkaJsEncoder
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (fields: KafkaJsBatchFields) => Promise<KafkaJsEncoder>
}
const MessageSet = require('kafkajs/src/protocol/messageSet/index.js') as (fields: {
  messageVersion: 0 | 1
  compression?: number
  entries: KafkaJsMessageEntry[]
}) => KafkaJsEncoder
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => unknown
const recordBatchDecoder = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (decoder: unknown) => Promise<{
  records: KafkaJsDecodedRecord[]
}>
const messageSetDecoder = require('kafkajs/src/protocol/messageSet/decoder.js') as (
  decoder: unknown,
  size: number,
) => Promise<KafkaJsDecodedMessage[]>
const gzipCodec = require('kafkajs/src/protocol/message/compression/gzip.js') as {
  compress: (encoder: KafkaJsEncoder) => Promise<Buffer>
}

export function kafkaJsRecord(fields: KafkaJsRecordFields): KafkaJsEncoder {
  return recordEncoder(fields)
}

export async function kafkaJsRecordBatch(fields: KafkaJsBatchFields): Promise<Buffer> {
  return (await RecordBatch(fields)).buffer
}

export function kafkaJsMessageSet(messageVersion: 0 | 1, entries: KafkaJsMessageEntry[], compressedInner = false): Buffer {
  // KafkaJS numbers entries 0..n-1 when told the set goes inside a compressed wrapper, else -1.
  return MessageSet({ messageVersion, compression: compressedInner ? KAFKAJS_CODEC.gzip : KAFKAJS_CODEC.none, entries }).buffer
}

export async function kafkaJsGzip(bytes: Buffer): Promise<Buffer> {
  return gzipCodec.compress({ buffer: bytes })
}

export async function kafkaJsDecodeRecordBatch(bytes: Buffer): Promise<KafkaJsDecodedRecord[]> {
  return (await recordBatchDecoder(new Decoder(bytes))).records
}

export async function kafkaJsDecodeMessageSet(bytes: Buffer): Promise<KafkaJsDecodedMessage[]> {
  return messageSetDecoder(new Decoder(bytes), bytes.length)
}
