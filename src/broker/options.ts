/**
 * Options of the embedded broker and their defaults, kept apart from the code that reads them so the
 * CLI and the README can quote one place.
 */
import { silentLogger, type Logger } from '../net/logger.js'
import { BrokerError } from './errors.js'
import type { GroupCoordinatorOptions } from './groups/config.js'
import { securityProtocolOf, validateSasl, validateTls, type BrokerSaslOptions, type BrokerTlsOptions, type SecurityProtocol } from './security/options.js'
import type { TransactionCoordinatorOptions } from './transactions/config.js'
import { validateFetchSessionOptions, type FetchSessionOptions } from './fetch-sessions.js'

/** The one logger interface (`../net/logger.ts`), under the name the broker's options used. A pino logger fits as is. */
export type BrokerLogger = Logger
export { silentLogger }

export interface BrokerOptions {
  /** Broker nodes in this process, each with its own listener; ids 0..nodes-1. Default 1. */
  nodes?: number
  /** Port of node 0; node i listens on port + i. 0 (the default) gives every node an ephemeral port. */
  port?: number
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string
  /**
   * Host clients are told to connect to (Metadata, bootstrap list), Kafka's advertised.listeners.
   * Default: `host`, or 127.0.0.1 when `host` is a wildcard (0.0.0.0, ::) that clients cannot dial.
   */
  advertisedHost?: string
  /** Directory of the partition logs. Omit it (or set memory) to keep everything in memory. */
  dataDir?: string
  /** Keep the logs in memory even if dataDir is set. */
  memory?: boolean
  /** Create a topic on first use by Metadata (Kafka's auto.create.topics.enable). Default true, as in Kafka. */
  autoCreateTopics?: boolean
  /** Partitions of auto-created topics and of CreateTopics asking for -1 (Kafka's num.partitions). Default 1. */
  defaultPartitions?: number
  /** Replication factor used for CreateTopics asking for -1 (Kafka's default.replication.factor). Default 1. */
  defaultReplicationFactor?: number
  /** Largest request frame accepted (Kafka's socket.request.max.bytes). Default 100 MiB. */
  maxRequestBytes?: number
  /**
   * Bytes of requests being received at once, all connections and nodes together (Kafka's
   * queued.max.request.bytes). A connection reserves a request's announced size before reading it;
   * past the cap, connections stop being read until requests finish. Default 100 MiB; 0 for no cap.
   */
  queuedMaxRequestBytes?: number
  /**
   * A connection that completes no request for this long, while none of its requests is being
   * handled, is closed: silent ones and ones stalled mid-request (Kafka's connections.max.idle.ms).
   * Default 10 minutes; 0 never closes them.
   */
  connectionsMaxIdleMs?: number
  /** fsync a partition's segment before acknowledging an acks=-1 produce. Default false: see the README. */
  fsync?: boolean
  /** How often retention by time and size is applied (Kafka's log.retention.check.interval.ms). Default 5 min. */
  retentionCheckIntervalMs?: number
  /** Cluster id reported by Metadata and DescribeCluster. Default: a fixed id in memory, a stored one on disk. */
  clusterId?: string
  /** Silent by default; pass a pino logger (or anything of that shape) to see connection and storage events. */
  logger?: BrokerLogger
  /**
   * Group coordinator settings (Kafka's group.* broker configs). The embedded broker's one
   * departure from Kafka's defaults: no initial rebalance delay, which only slows tests and demos.
   */
  groups?: GroupCoordinatorOptions
  /** Serve TLS on every listener (PEM texts); with `ca`, clients must present a certificate (mutual TLS). */
  tls?: BrokerTlsOptions
  /** Require SASL authentication on every connection before any request but ApiVersions and the handshake. */
  sasl?: BrokerSaslOptions
  /** Transaction coordinator settings (Kafka's transaction.* broker configs), Kafka's defaults. */
  transactions?: TransactionCoordinatorOptions
  /** Incremental fetch sessions (KIP-227): cache slots per node and eviction time, Kafka's defaults. */
  fetchSessions?: FetchSessionOptions
}

export interface ResolvedBrokerOptions {
  nodes: number
  port: number
  host: string
  advertisedHost: string
  dataDir: string | null
  autoCreateTopics: boolean
  defaultPartitions: number
  defaultReplicationFactor: number
  maxRequestBytes: number
  queuedMaxRequestBytes: number
  connectionsMaxIdleMs: number
  fsync: boolean
  retentionCheckIntervalMs: number
  clusterId: string | null
  logger: BrokerLogger
  groups: GroupCoordinatorOptions
  tls: BrokerTlsOptions | undefined
  sasl: BrokerSaslOptions | undefined
  securityProtocol: SecurityProtocol
  transactions: TransactionCoordinatorOptions
  fetchSessions: FetchSessionOptions
}



function positiveInteger(name: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < min) throw new BrokerError('BROKER_INVALID_OPTION', `${name} must be an integer >= ${min}, got ${value}`)
  return value
}

export function resolveOptions(options: BrokerOptions): ResolvedBrokerOptions {
  const port = positiveInteger('port', options.port, 0, 0)
  const nodes = positiveInteger('nodes', options.nodes, 1)
  const host = options.host ?? '127.0.0.1'
  validateTls(options.tls)
  validateSasl(options.sasl)
  if (port + nodes - 1 > 65535) throw new BrokerError('BROKER_INVALID_OPTION', `ports ${port}..${port + nodes - 1} do not fit below 65536`)
  return {
    nodes,
    port,
    host,
    advertisedHost: options.advertisedHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host),
    dataDir: options.memory === true ? null : (options.dataDir ?? null),
    autoCreateTopics: options.autoCreateTopics ?? true,
    defaultPartitions: positiveInteger('defaultPartitions', options.defaultPartitions, 1),
    defaultReplicationFactor: positiveInteger('defaultReplicationFactor', options.defaultReplicationFactor, 1),
    maxRequestBytes: positiveInteger('maxRequestBytes', options.maxRequestBytes, 100 * 1024 * 1024, 64),
    queuedMaxRequestBytes: positiveInteger('queuedMaxRequestBytes', options.queuedMaxRequestBytes, 100 * 1024 * 1024, 0),
    connectionsMaxIdleMs: positiveInteger('connectionsMaxIdleMs', options.connectionsMaxIdleMs, 10 * 60 * 1000, 0),
    fsync: options.fsync ?? false,
    retentionCheckIntervalMs: positiveInteger('retentionCheckIntervalMs', options.retentionCheckIntervalMs, 5 * 60 * 1000),
    clusterId: options.clusterId ?? null,
    logger: options.logger ?? silentLogger,
    groups: options.groups ?? {},
    tls: options.tls,
    sasl: options.sasl,
    securityProtocol: securityProtocolOf(options.tls, options.sasl),
    transactions: options.transactions ?? {},
    fetchSessions: validateFetchSessionOptions(options.fetchSessions),
  }
}
