/**
 * Topic configs: Kafka's names and defaults, validation for CreateTopics, and the values
 * DescribeConfigs reports. The broker applies the ones listed in APPLIED; other Kafka topic configs
 * are accepted and reported (so tools that set them work) but change nothing here. Names Kafka does
 * not know are refused with INVALID_CONFIG, as Kafka does.
 */
import type { LogConfig } from './log/partition-log.js'

interface ConfigDef {
  readonly defaultValue: string
  /** 'long' and 'int' must parse as integers; 'list' is one of `choices`. */
  readonly type: 'long' | 'int' | 'string' | 'boolean' | 'double' | 'list'
  readonly choices?: readonly string[]
  readonly min?: number
}

const LONG_MAX = '9223372036854775807'

/** Configs the embedded broker acts on. */
const APPLIED: Readonly<Record<string, ConfigDef>> = {
  'retention.ms': { defaultValue: '604800000', type: 'long', min: -1 },
  'retention.bytes': { defaultValue: '-1', type: 'long', min: -1 },
  'segment.bytes': { defaultValue: '1073741824', type: 'int', min: 14 },
  'segment.ms': { defaultValue: '604800000', type: 'long', min: 1 },
  'max.message.bytes': { defaultValue: '1048588', type: 'int', min: 0 },
  'message.timestamp.type': { defaultValue: 'CreateTime', type: 'string', choices: ['CreateTime', 'LogAppendTime'] },
  // Batches are stored as produced; recompressing on the broker is not implemented, so only the
  // value that means exactly that is accepted.
  'compression.type': { defaultValue: 'producer', type: 'string', choices: ['producer'] },
}

/** Kafka topic configs accepted and reported but without effect here (no replication, no compaction). */
const ACCEPTED: Readonly<Record<string, ConfigDef>> = {
  'cleanup.policy': { defaultValue: 'delete', type: 'list', choices: ['delete', 'compact', 'compact,delete', 'delete,compact'] },
  'min.insync.replicas': { defaultValue: '1', type: 'int', min: 1 },
  'unclean.leader.election.enable': { defaultValue: 'false', type: 'boolean' },
  'delete.retention.ms': { defaultValue: '86400000', type: 'long', min: 0 },
  'min.compaction.lag.ms': { defaultValue: '0', type: 'long', min: 0 },
  'max.compaction.lag.ms': { defaultValue: LONG_MAX, type: 'long', min: 1 },
  'min.cleanable.dirty.ratio': { defaultValue: '0.5', type: 'double' },
  'file.delete.delay.ms': { defaultValue: '60000', type: 'long', min: 0 },
  'flush.messages': { defaultValue: LONG_MAX, type: 'long', min: 1 },
  'flush.ms': { defaultValue: LONG_MAX, type: 'long', min: 0 },
  'index.interval.bytes': { defaultValue: '4096', type: 'int', min: 0 },
  'segment.index.bytes': { defaultValue: '10485760', type: 'int', min: 4 },
  'segment.jitter.ms': { defaultValue: '0', type: 'long', min: 0 },
  'preallocate': { defaultValue: 'false', type: 'boolean' },
  'message.timestamp.difference.max.ms': { defaultValue: LONG_MAX, type: 'long', min: 0 },
  'message.timestamp.before.max.ms': { defaultValue: LONG_MAX, type: 'long', min: 0 },
  'message.timestamp.after.max.ms': { defaultValue: LONG_MAX, type: 'long', min: 0 },
  'message.downconversion.enable': { defaultValue: 'true', type: 'boolean' },
  'local.retention.ms': { defaultValue: '-2', type: 'long', min: -2 },
  'local.retention.bytes': { defaultValue: '-2', type: 'long', min: -2 },
  'remote.storage.enable': { defaultValue: 'false', type: 'boolean', choices: ['false'] },
  'follower.replication.throttled.replicas': { defaultValue: '', type: 'string' },
  'leader.replication.throttled.replicas': { defaultValue: '', type: 'string' },
}

const ALL: Readonly<Record<string, ConfigDef>> = { ...APPLIED, ...ACCEPTED }

export const TOPIC_CONFIG_NAMES: readonly string[] = Object.keys(ALL).sort()

/** Why a config was refused; becomes INVALID_CONFIG with this message. */
export class ConfigProblem {
  constructor(readonly message: string) {}
}

function checkValue(name: string, value: string, def: ConfigDef): ConfigProblem | null {
  if (def.choices !== undefined && !def.choices.includes(value)) {
    return new ConfigProblem(`${name}=${value} is not supported here; use one of ${def.choices.join(', ')}`)
  }
  switch (def.type) {
    case 'long':
    case 'int': {
      if (!/^-?\d+$/.test(value)) return new ConfigProblem(`${name} must be an integer, got "${value}"`)
      if (def.type === 'int' && Math.abs(Number(value)) > 2147483647) return new ConfigProblem(`${name} must fit in an int32, got ${value}`)
      if (def.min !== undefined && BigInt(value) < BigInt(def.min)) return new ConfigProblem(`${name} must be at least ${def.min}, got ${value}`)
      return null
    }
    case 'boolean':
      return value === 'true' || value === 'false' ? null : new ConfigProblem(`${name} must be true or false, got "${value}"`)
    case 'double':
      return Number.isFinite(Number(value)) ? null : new ConfigProblem(`${name} must be a number, got "${value}"`)
    case 'string':
    case 'list':
      return null
  }
}

/** Validates configs given to CreateTopics; a null value means "use the default". */
export function validateTopicConfigs(configs: readonly { name: string; value: string | null }[]): Record<string, string> | ConfigProblem {
  const result: Record<string, string> = {}
  for (const { name, value } of configs) {
    const def = ALL[name]
    if (def === undefined) return new ConfigProblem(`unknown topic config ${name}`)
    if (value === null) continue
    const problem = checkValue(name, value, def)
    if (problem !== null) return problem
    result[name] = value
  }
  return result
}

function longValue(configs: Readonly<Record<string, string>>, name: string): number {
  // Long.MAX and the like lose precision as numbers, which is harmless for sizes and durations.
  return Number(configs[name] ?? ALL[name]!.defaultValue)
}

export function logConfigOf(configs: Readonly<Record<string, string>>): LogConfig {
  return {
    segmentBytes: longValue(configs, 'segment.bytes'),
    segmentMs: longValue(configs, 'segment.ms'),
    retentionBytes: longValue(configs, 'retention.bytes'),
    retentionMs: longValue(configs, 'retention.ms'),
  }
}

export function maxMessageBytes(configs: Readonly<Record<string, string>>): number {
  return longValue(configs, 'max.message.bytes')
}

export function usesLogAppendTime(configs: Readonly<Record<string, string>>): boolean {
  return configs['message.timestamp.type'] === 'LogAppendTime'
}

/** Kafka's ConfigSource values in DescribeConfigs (v1+). */
export const ConfigSource = { DYNAMIC_TOPIC_CONFIG: 1, STATIC_BROKER_CONFIG: 4, DEFAULT_CONFIG: 5 } as const

/** Kafka's ConfigType values in DescribeConfigs (v3+). */
const CONFIG_TYPE: Readonly<Record<ConfigDef['type'], number>> = { boolean: 1, string: 2, int: 3, long: 5, double: 6, list: 7 }

export interface DescribedConfig {
  name: string
  value: string
  isDefault: boolean
  source: number
  configType: number
}

/** Every topic config with its value and whether the topic set it. */
export function describeTopicConfigs(configs: Readonly<Record<string, string>>): DescribedConfig[] {
  return TOPIC_CONFIG_NAMES.map((name) => {
    const def = ALL[name]!
    const set = configs[name]
    return {
      name,
      value: set ?? def.defaultValue,
      isDefault: set === undefined,
      source: set === undefined ? ConfigSource.DEFAULT_CONFIG : ConfigSource.DYNAMIC_TOPIC_CONFIG,
      configType: CONFIG_TYPE[def.type],
    }
  })
}
