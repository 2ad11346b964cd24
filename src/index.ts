/**
 * baton: Kafka consumer groups with safe partition hand-off.
 *
 * The package root is the processing framework, what most users program against. The layers
 * under it have their own entry points: `baton/client` (producer, consumer, admin),
 * `baton/broker` (the embedded broker) and `baton/protocol` (the wire codec).
 */
export * from './processing/index.js'
export { BatonError, DecodeError, EncodeError } from './protocol/errors/base.js'
export { KafkaError, KafkaErrorCode, isKafkaError, type KafkaErrorName } from './protocol/errors/kafka-errors.js'
