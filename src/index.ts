/**
 * baton: Kafka consumer groups with safe partition hand-off.
 *
 * The package root is what an application programs against: `baton()`, its options, handlers and
 * middleware, errors and events. The layers under it have their own entry points: `baton/client`
 * (producer, consumer, admin), `baton/broker` (the embedded broker), `baton/protocol` (the wire
 * codec) and `baton/testing` (fakes and an embedded-broker fixture for an application's tests).
 */
export * from './processing/api.js'
export { BatonError, DecodeError, EncodeError } from './protocol/errors/base.js'
export { KafkaError, KafkaErrorCode, isKafkaError, type KafkaErrorName } from './protocol/errors/kafka-errors.js'
