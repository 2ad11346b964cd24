/**
 * DescribeConfigs, v0-4, for topics (resource type 2) and brokers (type 4). Topic configs report
 * every Kafka topic config the broker knows, with the topic's own values marked as such; a broker
 * reports the basics a client asks for (its id, listeners' limits, retention defaults).
 * Leaves out: synonyms, documentation, broker loggers and other resource types (INVALID_REQUEST).
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import {
  DescribeConfigs,
  type DescribeConfigsRequestDescribeConfigsResource,
  type DescribeConfigsResponseDescribeConfigsResultInit,
} from '../../protocol/generated/index.js'
import { ConfigSource, describeTopicConfigs, type DescribedConfig } from '../topic-config.js'
import { defineHandler, type RequestContext } from './handler.js'

const TOPIC = 2
const BROKER = 4

function brokerConfigs(ctx: RequestContext): DescribedConfig[] {
  const entry = (name: string, value: string, configType: number): DescribedConfig => ({
    name,
    value,
    isDefault: false,
    source: ConfigSource.STATIC_BROKER_CONFIG,
    configType,
  })
  return [
    entry('broker.id', String(ctx.node.nodeId), 3),
    entry('auto.create.topics.enable', String(ctx.options.autoCreateTopics), 1),
    entry('num.partitions', String(ctx.options.defaultPartitions), 3),
    entry('default.replication.factor', String(ctx.options.defaultReplicationFactor), 3),
    entry('socket.request.max.bytes', String(ctx.options.maxRequestBytes), 3),
    entry('message.max.bytes', '1048588', 3),
    entry('log.retention.check.interval.ms', String(ctx.options.retentionCheckIntervalMs), 5),
  ]
}

function describe(resource: DescribeConfigsRequestDescribeConfigsResource, ctx: RequestContext): DescribeConfigsResponseDescribeConfigsResultInit {
  const base = { resourceType: resource.resourceType, resourceName: resource.resourceName }
  let configs: DescribedConfig[]
  if (resource.resourceType === TOPIC) {
    const topic = ctx.cluster.topic(resource.resourceName)
    if (topic === undefined) {
      return { ...base, errorCode: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `no topic ${resource.resourceName}`, configs: [] }
    }
    configs = describeTopicConfigs(topic.configs)
  } else if (resource.resourceType === BROKER) {
    // An empty name means "the broker I am talking to", as in Kafka.
    if (resource.resourceName !== '' && resource.resourceName !== String(ctx.node.nodeId)) {
      return { ...base, errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: `this is node ${ctx.node.nodeId}; ask node ${resource.resourceName} itself`, configs: [] }
    }
    configs = brokerConfigs(ctx)
  } else {
    return { ...base, errorCode: KafkaErrorCode.INVALID_REQUEST, errorMessage: `resource type ${resource.resourceType} is not supported; use 2 (topic) or 4 (broker)`, configs: [] }
  }
  const keys = resource.configurationKeys
  return {
    ...base,
    errorCode: 0,
    errorMessage: null,
    configs: configs
      .filter((c) => keys === null || keys.includes(c.name))
      .map((c) => ({
        name: c.name,
        value: c.value,
        readOnly: resource.resourceType === BROKER,
        isDefault: ctx.version === 0 ? c.isDefault : false,
        configSource: c.source,
        isSensitive: false,
        synonyms: [],
        configType: c.configType,
        documentation: null,
      })),
  }
}

export default defineHandler({
  api: DescribeConfigs,
  minVersion: 0,
  maxVersion: 4,
  handle: (request, ctx) => ({ throttleTimeMs: 0, results: request.resources.map((r) => describe(r, ctx)) }),
  errorResponse: (request, errorCode) => ({
    throttleTimeMs: 0,
    results: request.resources.map((r) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName, configs: [] })),
  }),
})
