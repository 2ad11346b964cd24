/**
 * The consumer and producer `baton({ brokers, groupId })` runs on when none is passed in.
 *
 * One default differs from Kafka's consumer: a group with no committed offset starts at the
 * earliest record, not the latest. A framework whose promise is that no record is skipped should
 * not skip what was written before its first start; set `kafka.autoOffsetReset: 'latest'` to opt out.
 */
import type { BatonError, ClientConfig } from '../../client/index.js'
import type { Logger } from '../logger.js'
import { GroupConsumerPort, type GroupConsumerPortConfig } from './consumer.js'
import { ClientProducerPort } from './producer.js'

/** baton's client options under `baton({ kafka })`; the brokers, group id and rebalance timeout come from `baton()`'s own options. */
export type KafkaClientOptions = Omit<GroupConsumerPortConfig, 'bootstrapServers' | 'groupId' | 'rebalanceTimeoutMs'>

/** Errors the consumer recovers from (a hook overran, a LeaveGroup failed) go to the app's logger unless `kafka.onError` takes them. */
export function builtInConsumer(
  brokers: readonly string[],
  groupId: string,
  rebalanceTimeoutMs: number,
  kafka: KafkaClientOptions = {},
  logger?: Logger,
): GroupConsumerPort {
  const onError = kafka.onError ?? (logger === undefined ? undefined : (error: BatonError) => logger.warn({ err: error, code: error.code }, 'kafka consumer: ' + error.message))
  return new GroupConsumerPort({ autoOffsetReset: 'earliest', ...kafka, ...(onError === undefined ? {} : { onError }), bootstrapServers: brokers, groupId, rebalanceTimeoutMs })
}

/** The producer shares the connection settings (client id, TLS, SASL, timeouts) of the consumer. */
export function builtInProducer(brokers: readonly string[], kafka: KafkaClientOptions = {}): ClientProducerPort {
  const shared: ClientConfig = { bootstrapServers: brokers }
  for (const key of ['clientId', 'tls', 'sasl', 'connectTimeoutMs', 'requestTimeoutMs', 'retryBackoffMs', 'retryBackoffMaxMs', 'reconnectBackoffMs', 'reconnectBackoffMaxMs'] as const) {
    if (kafka[key] !== undefined) Object.assign(shared, { [key]: kafka[key] })
  }
  return new ClientProducerPort(shared)
}
