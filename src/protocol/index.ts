/**
 * The protocol layer: bytes to typed messages and back. Pure code, no sockets and no timers.
 *
 * Exported: every message (request and response types and their `ApiSpec`), frames and headers,
 * record batches and compression, the error classes and Kafka's error table. The helpers that the
 * generated code calls (`codec-runtime.ts`) are internal.
 */
export type { ApiSpec, MessageCodec, RequestOf, RequestInitOf, ResponseOf, ResponseInitOf } from './codec-runtime.js'
export * from './errors/base.js'
export * from './frame.js'
export * from './generated/index.js'
export { Reader } from './primitives/reader.js'
export { Writer } from './primitives/writer.js'
export * from './records/index.js'
export * from './errors/kafka-errors.js'
export { partitionKey, type TopicPartition } from './topic-partition.js'
