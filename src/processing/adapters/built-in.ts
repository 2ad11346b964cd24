/**
 * The consumer and producer `baton({ brokers, groupId })` runs on when none is passed in.
 *
 * One default differs from Kafka's consumer: a group with no committed offset starts at the
 * earliest record, not the latest. A framework whose promise is that no record is skipped should
 * not skip what was written before its first start; set `kafka.autoOffsetReset: 'latest'` to opt out.
 */
import { ConfigError, GROUP_CONSUMER_OPTION_NAMES, Producer, refuseUnknownKeys, sharedClientOptions, type ClientConfig, type GroupConsumerConfig, type Logger } from '../../client/index.js'
import { GroupConsumerPort } from './consumer.js'
import { ClientProducerPort } from './producer.js'

/** The group consumer's options that `baton()` sets itself, or that are not for applications. */
const NOT_UNDER_KAFKA = ['bootstrapServers', 'groupId', 'rebalanceTimeoutMs', 'logger', 'faults', 'hooks'] as const

/** baton's client options under `baton({ kafka })`; the brokers, group id, rebalance timeout and logger come from `baton()`'s own options. */
export type KafkaClientOptions = Omit<GroupConsumerConfig, (typeof NOT_UNDER_KAFKA)[number]>

/** Every key `kafka` accepts: the group consumer's options, less those. */
const KAFKA_OPTION_NAMES = GROUP_CONSUMER_OPTION_NAMES.filter((name) => !(NOT_UNDER_KAFKA as readonly string[]).includes(name))

/** Keys of `kafka` that belong on `baton()` itself. */
const KAFKA_KEYS_ELSEWHERE: Readonly<Record<string, string>> = {
  rebalanceTimeoutMs: 'set rebalanceTimeoutMs on baton() itself',
  groupId: 'set groupId on baton() itself',
  bootstrapServers: 'set brokers on baton() itself',
  logger: 'set logger on baton() itself; the Kafka client logs through it',
}

/**
 * Builds the consumer from `baton()`'s options, which checks every `kafka.*` option now rather
 * than at `run()`; a wrong one is a `ConfigError` naming it as `kafka.<name>`.
 */
export function builtInConsumer(brokers: string | readonly string[], groupId: string, rebalanceTimeoutMs: number, kafka: KafkaClientOptions, logger: Logger): GroupConsumerPort {
  refuseUnknownKeys('kafka', kafka, KAFKA_OPTION_NAMES, KAFKA_KEYS_ELSEWHERE)
  return underKafka(() => new GroupConsumerPort({ autoOffsetReset: 'earliest', ...kafka, logger, bootstrapServers: brokers, groupId, rebalanceTimeoutMs }))
}

/** The producer shares every client option (client id, TLS, SASL, timeouts, API version caps) of the consumer. */
export function builtInProducer(brokers: string | readonly string[], kafka: KafkaClientOptions, logger: Logger): ClientProducerPort {
  return underKafka(() => new ClientProducerPort(sharedConfig(brokers, kafka, logger)))
}

/** The transactional delivery's producer: the same connection settings, one transactional id per process. */
export function builtInTransactionalProducer(
  brokers: string | readonly string[],
  kafka: KafkaClientOptions,
  logger: Logger,
  transaction: { readonly transactionalId: string; readonly transactionTimeoutMs: number },
): Producer {
  return underKafka(() => new Producer({ ...sharedConfig(brokers, kafka, logger), transactionalId: transaction.transactionalId, transactionTimeoutMs: transaction.transactionTimeoutMs }))
}

function sharedConfig(brokers: string | readonly string[], kafka: KafkaClientOptions, logger: Logger): ClientConfig {
  return { ...sharedClientOptions(kafka), bootstrapServers: brokers, logger }
}

/** The client names its own options; under `baton()` they are `kafka.<name>` (and `brokers`). */
function underKafka<T>(build: () => T): T {
  try {
    return build()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    const option = error.option === 'bootstrapServers' ? 'brokers' : error.option === 'groupId' ? 'groupId' : `kafka.${error.option}`
    throw new ConfigError(option, error.reason, { cause: error })
  }
}
