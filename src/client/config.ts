/**
 * Options shared by the producer, consumer and admin client, validated up front so that a wrong
 * option fails at construction with its name in the message rather than later on the wire.
 */
import type { ConnectionOptions as TlsOptions } from 'node:tls'
import type { ConnectionOptions } from '../net/connection-options.js'
import { silentLogger, type Logger } from '../net/logger.js'
import { SASL_MECHANISMS, type SaslOptions } from '../net/sasl/index.js'
import { ConfigError } from './errors.js'
import { everyKeyOf, pickKeys, refuseUnknownKeys } from './option-names.js'

export interface ClientConfig {
  /** `host:port` of one or more brokers to learn the cluster from, as a list or comma-separated. */
  bootstrapServers: string | readonly string[]
  /** Sent in request headers; brokers log it and apply quotas by it. Default `'baton'`. */
  clientId?: string
  tls?: boolean | TlsOptions
  sasl?: SaslOptions
  /** Default 10 000. */
  connectTimeoutMs?: number
  /** Default 30 000. */
  requestTimeoutMs?: number
  /** Requests in flight per broker connection. Default 5. */
  maxInFlightRequests?: number
  /** Default 50. */
  reconnectBackoffMs?: number
  /** Default 1 000. */
  reconnectBackoffMaxMs?: number
  /** Metadata is refreshed at least this often, to learn of new partitions and brokers. Default 300 000. */
  metadataMaxAgeMs?: number
  /**
   * Let Metadata requests for unknown topics create them where the brokers allow it
   * (auto.create.topics.enable). Default true, as in Kafka's producer and consumer.
   */
  allowAutoTopicCreation?: boolean
  /** First pause before retrying a failed request; doubles up to retryBackoffMaxMs (KIP-580). Default 100. */
  retryBackoffMs?: number
  /** Default 1 000. */
  retryBackoffMaxMs?: number
  /**
   * Highest version to use per API, by Kafka's API name (`{ JoinGroup: 5 }`), for brokers that
   * advertise versions they cannot serve (librdkafka's mock cluster does, for JoinGroup v6).
   * Normally unset: each connection negotiates the highest version both sides support.
   */
  maxApiVersions?: Readonly<Record<string, number>>
  /**
   * Where the client reports what it recovered from and what it waits for (pino-compatible; a pino
   * logger fits as is). Default: silent, as a library should be.
   */
  logger?: Logger
}

export interface BrokerAddress {
  host: string
  port: number
}

export interface ResolvedClientConfig {
  bootstrap: BrokerAddress[]
  clientId: string
  tls: boolean | TlsOptions | undefined
  sasl: SaslOptions | undefined
  connectTimeoutMs: number
  requestTimeoutMs: number
  maxInFlightRequests: number
  reconnectBackoffMs: number
  reconnectBackoffMaxMs: number
  metadataMaxAgeMs: number
  allowAutoTopicCreation: boolean
  retryBackoffMs: number
  retryBackoffMaxMs: number
  maxApiVersions: Readonly<Record<string, number>> | undefined
  logger: Logger
}

export function parseBrokerAddress(text: string, option = 'bootstrapServers'): BrokerAddress {
  const trimmed = text.trim()
  const colon = trimmed.lastIndexOf(':')
  if (colon <= 0) throw new ConfigError(option, `${JSON.stringify(text)} is not host:port`)
  let host = trimmed.slice(0, colon)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const port = Number(trimmed.slice(colon + 1))
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ConfigError(option, `${JSON.stringify(text)} has no valid port (1-65535)`)
  return { host, port }
}

/** Reads an integer option: absent gives the default; present must be an integer within range. */
export function intOption(config: object, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = (config as Record<string, unknown>)[name]
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new ConfigError(name, `must be an integer, got ${JSON.stringify(value)}`)
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`)
  return value
}

export function boolOption(config: object, name: string, fallback: boolean): boolean {
  const value = (config as Record<string, unknown>)[name]
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new ConfigError(name, `must be true or false, got ${JSON.stringify(value)}`)
  return value
}

export function enumOption<T extends string | number>(config: object, name: string, fallback: T, allowed: readonly T[]): T {
  const value = (config as Record<string, unknown>)[name]
  if (value === undefined) return fallback
  if (!allowed.includes(value as T)) {
    throw new ConfigError(name, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(value)}`)
  }
  return value as T
}

/** Every key of `ClientConfig`: the admin client's options, and the start of every other client's. */
export const CLIENT_OPTION_NAMES = everyKeyOf<ClientConfig>()([
  'bootstrapServers',
  'clientId',
  'tls',
  'sasl',
  'connectTimeoutMs',
  'requestTimeoutMs',
  'maxInFlightRequests',
  'reconnectBackoffMs',
  'reconnectBackoffMaxMs',
  'metadataMaxAgeMs',
  'allowAutoTopicCreation',
  'retryBackoffMs',
  'retryBackoffMaxMs',
  'maxApiVersions',
  'logger',
])

/** The options of a wider config that every client shares: what a producer made beside a consumer takes from the consumer's options. */
export function sharedClientOptions(config: Partial<ClientConfig>): Partial<ClientConfig> {
  return pickKeys(config, CLIENT_OPTION_NAMES)
}

/**
 * Checks the options every client shares. A key outside `known` (the client's own option names)
 * is refused with the nearest known name: a misspelt option silently left at its default is how a
 * setting someone believes in never takes effect.
 */
export function resolveClientConfig(config: ClientConfig, known: readonly string[] = CLIENT_OPTION_NAMES): ResolvedClientConfig {
  if (typeof config !== 'object' || config === null) throw new ConfigError('config', 'must be an object')
  refuseUnknownKeys('', config, known)
  const servers = config.bootstrapServers
  // Entries may themselves be comma-separated lists, as Kafka's bootstrap.servers is.
  const list = typeof servers === 'string' ? servers.split(',') : Array.isArray(servers) ? servers.flatMap((s) => String(s).split(',')) : undefined
  if (list === undefined || list.length === 0 || list.every((s) => String(s).trim() === '')) {
    throw new ConfigError('bootstrapServers', 'must list at least one broker as "host:port"')
  }
  const bootstrap = list.filter((s) => String(s).trim() !== '').map((s) => parseBrokerAddress(String(s)))
  if (config.clientId !== undefined && (typeof config.clientId !== 'string' || config.clientId.length === 0)) {
    throw new ConfigError('clientId', 'must be a non-empty string')
  }
  if (config.sasl !== undefined) {
    const sasl = config.sasl as unknown as Record<string, unknown>
    if (!SASL_MECHANISMS.includes(sasl.mechanism as never)) {
      throw new ConfigError('sasl.mechanism', `must be one of ${SASL_MECHANISMS.join(', ')}, got ${JSON.stringify(sasl.mechanism)}`)
    }
    if (typeof sasl.username !== 'string' || typeof sasl.password !== 'string') throw new ConfigError('sasl', 'needs username and password strings')
  }
  const resolved: ResolvedClientConfig = {
    bootstrap,
    clientId: config.clientId ?? 'baton',
    tls: config.tls,
    sasl: config.sasl,
    connectTimeoutMs: intOption(config, 'connectTimeoutMs', 10_000, 1),
    requestTimeoutMs: intOption(config, 'requestTimeoutMs', 30_000, 1),
    maxInFlightRequests: intOption(config, 'maxInFlightRequests', 5, 1, 1000),
    reconnectBackoffMs: intOption(config, 'reconnectBackoffMs', 50, 1),
    reconnectBackoffMaxMs: intOption(config, 'reconnectBackoffMaxMs', 1000, 1),
    metadataMaxAgeMs: intOption(config, 'metadataMaxAgeMs', 300_000, 1),
    allowAutoTopicCreation: boolOption(config, 'allowAutoTopicCreation', true),
    retryBackoffMs: intOption(config, 'retryBackoffMs', 100, 1),
    retryBackoffMaxMs: intOption(config, 'retryBackoffMaxMs', 1000, 1),
    maxApiVersions: config.maxApiVersions,
    logger: resolveLogger(config.logger),
  }
  if (resolved.reconnectBackoffMaxMs < resolved.reconnectBackoffMs) {
    throw new ConfigError('reconnectBackoffMaxMs', `must be at least reconnectBackoffMs (${resolved.reconnectBackoffMs})`)
  }
  if (resolved.retryBackoffMaxMs < resolved.retryBackoffMs) {
    throw new ConfigError('retryBackoffMaxMs', `must be at least retryBackoffMs (${resolved.retryBackoffMs})`)
  }
  return resolved
}

/** A logger option: absent gives the silent one; present must have pino's four levels and `child`. */
export function resolveLogger(logger: unknown, option = 'logger'): Logger {
  if (logger === undefined) return silentLogger
  const l = logger as Record<string, unknown> | null
  const missing = ['debug', 'info', 'warn', 'error', 'child'].filter((m) => typeof l?.[m] !== 'function')
  if (missing.length > 0) throw new ConfigError(option, `must be pino-compatible (a pino logger fits); it lacks ${missing.join(', ')}`)
  return logger as Logger
}

/** The options of a connection to one broker, from the client's configuration. */
export function connectionOptions(c: ResolvedClientConfig, address: BrokerAddress, nodeId?: number): ConnectionOptions {
  return {
    host: address.host,
    port: address.port,
    ...(nodeId === undefined ? {} : { nodeId }),
    clientId: c.clientId,
    ...(c.tls === undefined ? {} : { tls: c.tls }),
    ...(c.sasl === undefined ? {} : { sasl: c.sasl }),
    connectTimeoutMs: c.connectTimeoutMs,
    requestTimeoutMs: c.requestTimeoutMs,
    maxInFlightRequests: c.maxInFlightRequests,
    reconnectBackoffMs: c.reconnectBackoffMs,
    reconnectBackoffMaxMs: c.reconnectBackoffMaxMs,
    ...(c.maxApiVersions === undefined ? {} : { maxApiVersions: c.maxApiVersions }),
  }
}
