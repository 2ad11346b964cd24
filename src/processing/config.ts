/**
 * The options users pass to `baton()` and `app.consume()`, their defaults, and their validation.
 * Every check names the option, what is wrong with it and what to do instead.
 */
import type { Registry } from 'prom-client'
import type { ConsumerPort, FetchedRecord, ProducerPort } from './consumer-port.js'
import { ConfigError } from './errors.js'
import type { KafkaClientOptions } from './adapters/built-in.js'
import type { Middleware } from './handler.js'
import type { Logger } from './logger.js'
import { refuseUnknownKeys } from '../client/index.js'
import { DEFAULT_RETRY, type RetryOptions } from './retry.js'
import type { SqlDatabase } from './store/sql.js'
import type { ConcurrencyMode } from './partition-worker.js'
import type { TransactionsOptions } from './delivery/transactional-config.js'

export interface BatonOptions {
  /**
   * Bootstrap brokers, `host:port`, as a list or comma-separated (as the client's `bootstrapServers`).
   * Used by the built-in Kafka client; ignored when `consumer` is given.
   */
  readonly brokers?: string | readonly string[]
  readonly groupId: string
  /** The consumer to run on. Default: baton's Kafka client. Tests pass `FakeConsumer`. */
  readonly consumer?: ConsumerPort
  /**
   * Options of baton's built-in Kafka consumer and producer (used when `consumer` / `producer` are
   * not given): session and heartbeat timeouts, assignors, static membership, TLS, SASL, client id.
   * Groups with no committed offset start at the earliest record unless `autoOffsetReset` says otherwise.
   */
  readonly kafka?: KafkaClientOptions
  /**
   * The consumer group protocol of the built-in consumer. `'classic'` (default): JoinGroup/SyncGroup
   * with cooperative-sticky. `'consumer'`: KIP-848 (Apache Kafka 4.0+): the coordinator assigns and
   * moves partitions one by one, each only after its owner's `onRevoke` hand-off has committed.
   * The hand-off guarantees are the same under both.
   */
  readonly groupProtocol?: 'classic' | 'consumer'
  /** Used for dead letters and `ctx.produce`. Default: baton's Kafka producer. One passed in is not closed by `stop()`. */
  readonly producer?: ProducerPort
  /** Handler calls running at once across all partitions. Default 100. */
  readonly concurrency?: number
  /**
   * How long a revocation waits for in-flight handlers before aborting them. Must be below
   * `rebalanceTimeoutMs`, or the coordinator evicts this member mid-drain. Default 20 000.
   */
  readonly drainTimeoutMs?: number
  /** The group's rebalance timeout, as given to the consumer. Default 60 000. */
  readonly rebalanceTimeoutMs?: number
  /** How long a graceful stop waits for in-flight handlers. Default: `drainTimeoutMs`. */
  readonly shutdownTimeoutMs?: number
  /**
   * 0 (default): commit as work completes, one commit in flight at a time, the next carrying
   * everything finished meanwhile, so a crash redoes only about one commit round trip of work.
   * A positive number: commit every this many ms instead (fewer commit requests, more redone after
   * a crash). Commits also happen on revoke and stop either way.
   */
  readonly commitIntervalMs?: number
  /** Records queued per partition before its fetching pauses (it resumes at half). Default 1000. */
  readonly maxQueuedPerPartition?: number
  /** `app.health()` reports not live when no handler settled for this long while work waits. Default: `rebalanceTimeoutMs`. */
  readonly livenessTimeoutMs?: number
  /**
   * How long the app may go without reaching the group coordinator (no broker answers, or none is
   * the coordinator) before `run()` stops with `BrokersUnreachableError` and exit code 1. Counts
   * from the start as well as after a connection is lost. Default 60 000.
   */
  readonly unreachableTimeoutMs?: number
  /** Default: pino at level `BATON_LOG_LEVEL` or info. The built-in Kafka client logs through it too. */
  readonly logger?: Logger
  /** prom-client registry to register baton's metrics in. No metrics without one. */
  readonly metrics?: { readonly registry: Registry; readonly prefix?: string }
  /** Signals that trigger a graceful stop in `app.run()`; `false` for none. Default SIGINT and SIGTERM. */
  readonly signals?: readonly NodeJS.Signals[] | false
  /** Settings of the routes with `delivery: 'transactional'` (see `### Delivery: transactional` in the README). */
  readonly transactions?: TransactionsOptions
  /** The database of `delivery: 'store'` routes (see "Delivery: store" in the processing README). */
  readonly store?: StoreOptions
}

/** Store mode's settings: where the effects and the offsets go, and how many records share a transaction. */
export interface StoreOptions {
  /** `pgliteDatabase(db)` or `postgresDatabase(pool)`, over the application's own PGlite database or `pg` pool. */
  readonly database: SqlDatabase
  /** The offsets table, created if missing. Default `baton_offsets`. */
  readonly table?: string
  /** Most records per database transaction. Default 500. */
  readonly maxRecords?: number
  /** Longest a database transaction stays open collecting records before it commits. Default 100 ms. */
  readonly maxMs?: number
  /**
   * PostgreSQL ends a transaction whose connection sits idle this long inside it (a member frozen
   * mid-transaction, or a handler waiting on something else between two queries); the app then
   * stops and the records are redone. Default 60 000 ms.
   */
  readonly idleTimeoutMs?: number
}

export interface ResolvedStoreConfig {
  readonly database: SqlDatabase
  readonly table: string | undefined
  readonly maxRecords: number
  readonly maxMs: number
  readonly idleTimeoutMs: number
}

export interface RetryConfig {
  readonly retries?: number
  readonly initialBackoffMs?: number
  readonly maxBackoffMs?: number
  readonly jitter?: number
  readonly isRetriable?: (error: unknown) => boolean
}

export interface ConsumeOptions<V = Buffer | null> {
  /**
   * `partition` (default): a partition's records one at a time, in offset order. `key`: different
   * keys of a partition at once, each key in order. (`baton({ concurrency })` bounds how many run at once.)
   */
  readonly ordering?: ConcurrencyMode
  /** Retries after a failure: a count, full settings, or `false` for none. Default 3 retries from 200 ms backoff. */
  readonly retries?: number | RetryConfig | false
  /**
   * Where records go once retries are spent or the error is not retriable. Default `<topic>.DLT`.
   * `false` skips such records after logging them: choose it only if losing them is acceptable.
   */
  readonly deadLetter?: string | false
  /**
   * Turns the raw value into what the handler receives; a throw sends the record to the dead
   * letters. Annotate its parameter (`(value: Buffer | null) => ...`) and the handler's record type
   * is inferred from its return type.
   */
  readonly deserialize?: (value: Buffer | null, record: FetchedRecord) => V
  /** Extra middleware, outermost first, run inside dead letters and retries, around the handler. */
  readonly middleware?: readonly Middleware[]
  /**
   * What a crash may cost, the table in the processing README: `'at-least-once'` (default):
   * offsets are committed to the group after the work, so a crash redoes the work since the last
   * commit. `'transactional'`: what the handler produces with `ctx.produce` is written with the
   * input offsets in one Kafka transaction, so read_committed readers see each input's outputs once,
   * crashes included (settings under `baton({ transactions })`). `'store'`: the handler writes
   * through `ctx.tx`, a transaction on the database of `baton({ store })`, which commits with the
   * partition's offset: each record's effects exactly once, crashes included.
   */
  readonly delivery?: DeliveryOption
}

/** The `delivery` option of `consume()`, as users write it. */
export type DeliveryOption = 'at-least-once' | 'transactional' | 'store'

/** The delivery mode of a route, with its settings resolved. */
export type ResolvedDelivery = { readonly mode: 'at-least-once' } | { readonly mode: 'transactional' } | { readonly mode: 'store' }

export interface BatchConsumeOptions<V = Buffer | null> extends Omit<ConsumeOptions<V>, 'ordering'> {
  /** Most records per handler call. Default 100. */
  readonly maxRecords?: number
}

export interface ResolvedAppConfig {
  readonly groupId: string
  readonly concurrency: number
  readonly drainTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly shutdownTimeoutMs: number
  readonly commitIntervalMs: number
  readonly maxQueuedPerPartition: number
  readonly livenessTimeoutMs: number
  readonly unreachableTimeoutMs: number
  readonly signals: readonly NodeJS.Signals[]
  readonly store: ResolvedStoreConfig | undefined
}

/** Every key `baton()` accepts (the app's own `exit` included). */
export const APP_OPTION_NAMES = [
  'brokers',
  'groupId',
  'consumer',
  'kafka',
  'producer',
  'concurrency',
  'drainTimeoutMs',
  'rebalanceTimeoutMs',
  'shutdownTimeoutMs',
  'commitIntervalMs',
  'maxQueuedPerPartition',
  'livenessTimeoutMs',
  'unreachableTimeoutMs',
  'logger',
  'metrics',
  'signals',
  'exit',
  'groupProtocol',
  'transactions',
  'store',
] as const satisfies readonly (keyof BatonOptions | 'exit')[]
const appComplete: Exclude<keyof BatonOptions, (typeof APP_OPTION_NAMES)[number]> extends never ? true : never = true
void appComplete

const APP_KEYS_ELSEWHERE: Readonly<Record<string, string>> = {
  bootstrapServers: 'baton() calls it brokers',
  sessionTimeoutMs: 'set it as kafka.sessionTimeoutMs',
  heartbeatIntervalMs: 'set it as kafka.heartbeatIntervalMs',
  clientId: 'set it as kafka.clientId',
  autoOffsetReset: 'set it as kafka.autoOffsetReset',
}

const CONSUME_OPTION_NAMES = ['ordering', 'retries', 'deadLetter', 'deserialize', 'middleware', 'delivery'] as const
const CONSUME_RENAMED: Readonly<Record<string, string>> = {
  concurrency: "the mode is called ordering now ('partition' or 'key'); the number of handlers running at once is baton({ concurrency })",
}

export interface ResolvedTopicConfig {
  readonly mode: ConcurrencyMode
  readonly batchSize: number | undefined
  readonly retry: RetryOptions | undefined
  readonly deadLetterTopic: string | undefined
  readonly delivery: ResolvedDelivery
}

export function resolveAppConfig(options: BatonOptions): ResolvedAppConfig {
  if (typeof options !== 'object' || options === null) throw new ConfigError('baton()', 'expected an options object such as { brokers, groupId }')
  refuseUnknownKeys('', options, APP_OPTION_NAMES, APP_KEYS_ELSEWHERE)
  if (typeof options.groupId !== 'string' || options.groupId.length === 0) {
    throw new ConfigError('groupId', `must be a non-empty string naming the consumer group, got ${JSON.stringify(options.groupId)}`)
  }
  if (options.brokers !== undefined && typeof options.brokers !== 'string' && !Array.isArray(options.brokers)) {
    throw new ConfigError('brokers', `must be "host:port" strings, as a list or comma-separated, e.g. ["localhost:9092"]; got ${JSON.stringify(options.brokers)}`)
  }
  if (options.consumer === undefined && (options.brokers === undefined || String(options.brokers).trim() === '')) {
    throw new ConfigError('brokers', 'give at least one bootstrap broker ("host:port"), or pass a `consumer`')
  }
  if (options.kafka !== undefined && (typeof options.kafka !== 'object' || options.kafka === null)) {
    throw new ConfigError('kafka', `must be an object of Kafka client options, got ${JSON.stringify(options.kafka)}`)
  }
  if (options.groupProtocol !== undefined && options.groupProtocol !== 'classic' && options.groupProtocol !== 'consumer') {
    throw new ConfigError('groupProtocol', `must be 'classic' or 'consumer' (KIP-848), not ${JSON.stringify(options.groupProtocol)}`)
  }
  if (options.groupProtocol !== undefined && options.kafka?.groupProtocol !== undefined && options.kafka.groupProtocol !== options.groupProtocol) {
    throw new ConfigError('groupProtocol', `is ${JSON.stringify(options.groupProtocol)} but kafka.groupProtocol is ${JSON.stringify(options.kafka.groupProtocol)}; set one of them`)
  }
  const concurrency = positiveInteger('concurrency', options.concurrency, 100)
  const rebalanceTimeoutMs = positiveInteger('rebalanceTimeoutMs', options.rebalanceTimeoutMs, 60_000)
  const drainTimeoutMs = positiveInteger('drainTimeoutMs', options.drainTimeoutMs, Math.min(20_000, Math.floor(rebalanceTimeoutMs / 2)))
  if (drainTimeoutMs >= rebalanceTimeoutMs) {
    throw new ConfigError(
      'drainTimeoutMs',
      `${drainTimeoutMs} must be below ${options.rebalanceTimeoutMs === undefined ? 'the default ' : ''}rebalanceTimeoutMs (${rebalanceTimeoutMs}): the drain and the commit after it must ` +
        'finish before the coordinator gives up on this member; lower drainTimeoutMs or raise rebalanceTimeoutMs',
    )
  }
  const shutdownTimeoutMs = positiveInteger('shutdownTimeoutMs', options.shutdownTimeoutMs, drainTimeoutMs)
  const commitIntervalMs = options.commitIntervalMs === undefined ? 0 : nonNegativeInteger('commitIntervalMs', options.commitIntervalMs)
  const maxQueuedPerPartition = positiveInteger('maxQueuedPerPartition', options.maxQueuedPerPartition, 1000)
  const livenessTimeoutMs = positiveInteger('livenessTimeoutMs', options.livenessTimeoutMs, rebalanceTimeoutMs)
  const unreachableTimeoutMs = positiveInteger('unreachableTimeoutMs', options.unreachableTimeoutMs, 60_000)
  if (options.signals !== undefined && options.signals !== false && !Array.isArray(options.signals)) {
    throw new ConfigError('signals', 'must be an array of signal names such as ["SIGINT", "SIGTERM"], or false')
  }
  const signals = options.signals === false ? [] : (options.signals ?? ['SIGINT', 'SIGTERM'])
  const store = resolveStore(options.store)
  return {
    groupId: options.groupId,
    concurrency,
    drainTimeoutMs,
    rebalanceTimeoutMs,
    shutdownTimeoutMs,
    commitIntervalMs,
    maxQueuedPerPartition,
    livenessTimeoutMs,
    unreachableTimeoutMs,
    signals,
    store,
  }
}

function resolveStore(store: StoreOptions | undefined): ResolvedStoreConfig | undefined {
  if (store === undefined) return undefined
  if (typeof store !== 'object' || store === null) throw new ConfigError('store', "must be an object such as { database: postgresDatabase(pool) }")
  refuseUnknownKeys('store', store, ['database', 'table', 'maxRecords', 'maxMs', 'idleTimeoutMs'], {})
  const db = store.database as Partial<SqlDatabase> | undefined
  if (typeof db !== 'object' || db === null || typeof db.transaction !== 'function' || typeof db.query !== 'function') {
    throw new ConfigError('store.database', "must be a database from pgliteDatabase(db) or postgresDatabase(pool) (import them from 'baton')")
  }
  if (store.table !== undefined && typeof store.table !== 'string') throw new ConfigError('store.table', 'must be a table name')
  return {
    database: store.database,
    table: store.table,
    maxRecords: positiveInteger('store.maxRecords', store.maxRecords, 500),
    maxMs: positiveInteger('store.maxMs', store.maxMs, 100),
    idleTimeoutMs: positiveInteger('store.idleTimeoutMs', store.idleTimeoutMs, 60_000),
  }
}

export function resolveTopicConfig(
  topic: string,
  handler: unknown,
  options: ConsumeOptions<unknown> & { maxRecords?: number },
  batch: boolean,
): ResolvedTopicConfig {
  const where = `consume('${topic}')`
  if (typeof topic !== 'string' || topic.length === 0) throw new ConfigError('consume(topic)', 'the topic must be a non-empty string')
  if (typeof handler !== 'function') throw new ConfigError(`${where} handler`, 'must be an async function (record, ctx) => {...}')
  refuseUnknownKeys(where, options, batch ? ['maxRecords', ...CONSUME_OPTION_NAMES.filter((k) => k !== 'ordering')] : CONSUME_OPTION_NAMES, CONSUME_RENAMED)
  const mode = options.ordering ?? 'partition'
  if (mode !== 'partition' && mode !== 'key') {
    throw new ConfigError(`${where}.ordering`, `must be 'partition' (in order) or 'key' (per-key order), not ${JSON.stringify(mode)}`)
  }
  const batchSize = batch ? positiveInteger(`${where}.maxRecords`, options.maxRecords, 100) : undefined
  const retry = resolveRetry(where, options.retries)
  let deadLetterTopic: string | undefined
  if (options.deadLetter === false) deadLetterTopic = undefined
  else if (options.deadLetter === undefined) deadLetterTopic = `${topic}.DLT`
  else if (typeof options.deadLetter !== 'string' || options.deadLetter.length === 0) {
    throw new ConfigError(`${where}.deadLetter`, 'must be a topic name, or false to skip failed records')
  } else deadLetterTopic = options.deadLetter
  if (deadLetterTopic === topic) {
    throw new ConfigError(`${where}.deadLetter`, 'must differ from the consumed topic, or failed records would come back forever')
  }
  if (options.deserialize !== undefined && typeof options.deserialize !== 'function') {
    throw new ConfigError(`${where}.deserialize`, 'must be a function (value, record) => decoded value')
  }
  if (options.middleware !== undefined && (!Array.isArray(options.middleware) || options.middleware.some((m) => typeof m !== 'function'))) {
    throw new ConfigError(`${where}.middleware`, 'must be an array of functions (next) => (work, ctx) => Promise<void>')
  }
  return { mode, batchSize, retry, deadLetterTopic, delivery: resolveDelivery(where, options.delivery, mode) }
}

function resolveDelivery(where: string, delivery: ConsumeOptions['delivery'], ordering: ConcurrencyMode): ResolvedDelivery {
  if (delivery === undefined || delivery === 'at-least-once') return { mode: 'at-least-once' }
  if (delivery === 'transactional') return { mode: 'transactional' }
  if (delivery === 'store') {
    // A partition's records share one database transaction, whose savepoints nest: one record at a time.
    if (ordering === 'key') {
      throw new ConfigError(`${where}.ordering`, "'key' is not available with delivery: 'store', which runs a partition's records one at a time in its database transaction; use ordering: 'partition' (the default) and more partitions for parallelism")
    }
    return { mode: 'store' }
  }
  throw new ConfigError(`${where}.delivery`, `must be 'at-least-once', 'transactional' or 'store', not ${JSON.stringify(delivery)}`)
}

function resolveRetry(where: string, retries: ConsumeOptions['retries']): RetryOptions | undefined {
  if (retries === false || retries === 0) return undefined
  if (retries === undefined) return DEFAULT_RETRY
  if (typeof retries === 'number') return { ...DEFAULT_RETRY, retries: nonNegativeInteger(`${where}.retries`, retries) }
  if (typeof retries !== 'object' || retries === null) {
    throw new ConfigError(`${where}.retries`, 'must be a number of retries, an object { retries, initialBackoffMs, maxBackoffMs }, or false')
  }
  const resolved: RetryOptions = {
    retries: retries.retries === undefined ? DEFAULT_RETRY.retries : nonNegativeInteger(`${where}.retries.retries`, retries.retries),
    initialBackoffMs:
      retries.initialBackoffMs === undefined ? DEFAULT_RETRY.initialBackoffMs : nonNegativeInteger(`${where}.retries.initialBackoffMs`, retries.initialBackoffMs),
    maxBackoffMs: retries.maxBackoffMs === undefined ? DEFAULT_RETRY.maxBackoffMs : nonNegativeInteger(`${where}.retries.maxBackoffMs`, retries.maxBackoffMs),
    ...(retries.jitter === undefined ? {} : { jitter: retries.jitter }),
    ...(retries.isRetriable === undefined ? {} : { isRetriable: retries.isRetriable }),
  }
  if (resolved.initialBackoffMs > resolved.maxBackoffMs) {
    throw new ConfigError(`${where}.retries.initialBackoffMs`, `${resolved.initialBackoffMs} is above maxBackoffMs (${resolved.maxBackoffMs}); raise maxBackoffMs`)
  }
  if (resolved.jitter !== undefined && !(resolved.jitter >= 0 && resolved.jitter <= 1)) {
    throw new ConfigError(`${where}.retries.jitter`, 'must be a fraction between 0 and 1')
  }
  return resolved
}

function positiveInteger(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(option, `must be a positive integer, got ${JSON.stringify(value)}`)
  }
  return value
}

function nonNegativeInteger(option: string, value: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(option, `must be an integer of 0 or more, got ${JSON.stringify(value)}`)
  }
  return value
}
