/**
 * The embedded broker: a Kafka-protocol broker in this process, for development and tests.
 *
 * ```ts
 * import { startBroker } from 'baton/broker'
 * const broker = await startBroker({ nodes: 3 })
 * // point any Kafka client at broker.bootstrap
 * await broker.stop()
 * ```
 */
export { startBroker, type CreateTopicOptions, type EmbeddedBroker, type InProcessConnection, type TopicInfo } from './broker.js'
export type { NodeEndpoint } from './cluster.js'
export { BrokerError, type BrokerErrorCode } from './errors.js'
export { Faults, type ApiSelector, type RequestFaultOptions } from './faults.js'
export { UnanswerableRequestError } from './node.js'
export { silentLogger, type BrokerLogger, type BrokerOptions } from './options.js'
export { TOPIC_CONFIG_NAMES } from './topic-config.js'
export type { GroupCoordinatorOptions } from './groups/config.js'
export { parseUsersFile, type BrokerSaslOptions, type BrokerTlsOptions, type SecurityProtocol } from './security/options.js'
export type { TransactionCoordinatorOptions } from './transactions/config.js'
export type { Scheduler } from './groups/scheduler.js'
