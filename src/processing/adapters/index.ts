/** The framework's ports over baton's own Kafka client: what `baton({ brokers, groupId })` runs on. */
export { GroupConsumerPort, type GroupConsumerPortConfig } from './consumer.js'
export { ClientProducerPort } from './producer.js'
export { builtInConsumer, builtInProducer, builtInTransactionalProducer, type KafkaClientOptions } from './built-in.js'
