/**
 * The user API: `baton({ groupId, ... })`, `app.consume(topic, handler, options)`, `await app.run()`.
 *
 * ```ts
 * const app = baton({ brokers: ['localhost:9092'], groupId: 'orders' })
 * app.consume('orders', async (record, ctx) => {
 *   await chargeCard(JSON.parse(String(record.value)), { signal: ctx.signal })
 * }, { ordering: 'key', retries: 5 })
 * await app.run() // until SIGINT or SIGTERM, then a graceful stop; process.exitCode says how it went
 * ```
 */
import { constants } from 'node:os'
import type { Registry } from 'prom-client'
import {
  resolveAppConfig,
  resolveTopicConfig,
  type BatchConsumeOptions,
  type BatonOptions,
  type ConsumeOptions,
  type ResolvedAppConfig,
} from './config.js'
import type { ConsumerPort, FetchedRecord, OffsetToCommit, ProducedRecord, ProducerPort, SeekOffset, TopicPartition } from './consumer-port.js'
import { deadLetterFailure, type DeadLetterObserver } from './dead-letter.js'
import { AppStateError, ConfigError, DeserializationError, PartitionNotOwnedError } from './errors.js'
import { compose, thenRecover, type BatchHandler, type Chain, type ConsumedRecord, type Middleware, type RecordHandler, type Recover, type Step } from './handler.js'
import { ProcessingMetrics, publish } from './instrumentation.js'
import { Job } from './job.js'
import { builtInConsumer, builtInProducer, builtInTransactionalProducer } from './adapters/built-in.js'
import { requireTransactionalSupport, resolveTransactions, type ResolvedTransactions } from './delivery/transactional-config.js'
import { TransactionalDelivery } from './delivery/transactional.js'
import type { GroupConsumerPort } from './adapters/consumer.js'
import { defaultLogger, type Logger } from './logger.js'
import { Processor, type Health, type Route } from './processor.js'
import { retryAfterFailure, type RetryObserver } from './retry.js'
import { patternKey } from './subscription.js'
import { StoreDelivery } from './delivery/store.js'
import { OffsetStore } from './store/offset-store.js'

/** `app.run()`'s exit codes, also set as `process.exitCode`. */
export const EXIT_CODES = {
  /** Stopped gracefully: all in-flight work finished and was committed. */
  ok: 0,
  /** The consumer failed, or the app could not start. */
  fatal: 1,
  /** Stopped gracefully, but handlers still running at the shutdown deadline were aborted: their records will be processed again. */
  drainTimeout: 3,
  /** The final commit failed: records done since the last commit will be processed again. */
  commitFailed: 4,
} as const
// A second signal exits at once with 128 + the signal's number, as shells report a killed process.

export type StopReason = 'stopped' | 'signal' | 'fatal' | 'forced'

export interface RunResult {
  readonly reason: StopReason
  readonly exitCode: number
  /** Handlers aborted by the shutdown deadline (or by force). */
  readonly aborted: number
  readonly error: Error | undefined
  /** Offsets done but not committed at the stop (commit failed or past the deadline): those records will be processed again. */
  readonly uncommitted: readonly OffsetToCommit[]
}

/** A repeat of the same signal within this window is taken for the same request (a process group signalled twice), not a second one. */
export const SIGNAL_REPEAT_WINDOW_MS = 1000

export interface BatonAppOptions extends BatonOptions {
  /** How a forced stop (second signal) ends the process. Default `process.exit`. */
  readonly exit?: (code: number) => void
}

export function baton(options: BatonAppOptions): BatonApp {
  return new BatonApp(options)
}

type State = 'configuring' | 'starting' | 'running' | 'stopping' | 'stopped'

export class BatonApp {
  /** The registry baton's metrics are in, when one was passed. */
  readonly metricsRegistry: Registry | undefined
  readonly logger: Logger
  private readonly config: ResolvedAppConfig
  private readonly routes = new Map<string, Route>()
  private readonly appMiddleware: Middleware[] = []
  private readonly metrics: ProcessingMetrics | undefined
  private processor: Processor | undefined
  /** The producer in use: the one passed in, or the built-in one, which the app closes. */
  private producer: ProducerPort | undefined
  private ownProducer: ProducerPort | undefined
  private state: State = 'configuring'
  private starting: Promise<void> | undefined
  private stopping: Promise<RunResult> | undefined
  private readonly finished: Promise<RunResult>
  private finish!: (result: RunResult) => void
  /** Store mode's delivery, shared by every `delivery: 'store'` route; made at start. */
  private storeDelivery: StoreDelivery | undefined
  /** baton's own consumer, built (and its `kafka` options checked) by `baton()`, when none is passed in. */
  private readonly builtIn: GroupConsumerPort | undefined
  /** `transactions` settings, resolved at `baton()` so that a wrong one fails there. */
  private readonly transactions: ResolvedTransactions

  constructor(private readonly options: BatonAppOptions) {
    this.config = resolveAppConfig(options)
    this.transactions = resolveTransactions(options.transactions, this.config.groupId, options.kafka?.groupInstanceId ?? undefined)
    this.logger = options.logger ?? defaultLogger()
    // Built now, so that a wrong kafka.* option fails here rather than at run(). It opens no
    // connection until started.
    this.builtIn =
      options.consumer === undefined
        ? builtInConsumer(options.brokers ?? [], this.config.groupId, this.config.rebalanceTimeoutMs, options.groupProtocol === undefined ? (options.kafka ?? {}) : { ...options.kafka, groupProtocol: options.groupProtocol }, this.logger)
        : undefined
    this.metricsRegistry = options.metrics?.registry
    this.metrics = options.metrics === undefined ? undefined : new ProcessingMetrics(options.metrics.registry, options.metrics.prefix)
    this.finished = new Promise((resolve) => (this.finish = resolve))
  }

  /**
   * Handle each record of `topic` with `handler`. Returns the app, for chaining. `topic` may be a
   * RegExp: every topic whose name matches is consumed, those created later included (the
   * built-in consumer only); such a route needs an explicit `deadLetter`. A topic named in another
   * `consume()` goes to that route.
   */
  consume<V = Buffer | null>(subscription: string | RegExp, handler: RecordHandler<NoInfer<V>>, options: ConsumeOptions<V> = {}): this {
    const { topic, pattern, config } = this.addRoute(subscription, handler, options, false)
    const deserialize = deserializer(options)
    // Deserialization runs inside the chain so that its failures take the dead-letter path.
    // A job holds its record directly; reading `records` would build a list just to index it.
    const inner: Step = (work, ctx) => handler(deserialize(work instanceof Job ? work.first : (work.records[0] as FetchedRecord)), ctx)
    this.routes.set(pattern === undefined ? topic : patternKey(pattern), { topic, pattern, config, chain: this.buildChain(topic, config, options.middleware, inner) })
    return this
  }

  /** Handle records of `topic` (a name or a RegExp, as in `consume`) in batches of up to `maxRecords`, in offset order. A batch is done (and dead-lettered) as a whole. */
  consumeBatch<V = Buffer | null>(subscription: string | RegExp, handler: BatchHandler<NoInfer<V>>, options: BatchConsumeOptions<V> = {}): this {
    const { topic, pattern, config } = this.addRoute(subscription, handler, options, true)
    const deserialize = deserializer(options)
    const inner: Step = (work, ctx) => handler(work.records.map(deserialize), ctx)
    this.routes.set(pattern === undefined ? topic : patternKey(pattern), { topic, pattern, config, chain: this.buildChain(topic, config, options.middleware, inner) })
    return this
  }

  /** Middleware for every topic, inside dead letters and retries, outside each topic's own. Call before `consume`. */
  use(middleware: Middleware): this {
    if (typeof middleware !== 'function') throw new ConfigError('use()', 'expects a function (next) => (work, ctx) => Promise<void>')
    this.requireState('configuring', 'use()')
    this.appMiddleware.push(middleware)
    return this
  }

  /** Joins the group and starts processing; resolves once started. `run()` does this and waits for a stop. */
  start(): Promise<void> {
    this.requireState('configuring', 'start()')
    this.starting = this.startProcessor()
    return this.starting
  }

  private async startProcessor(): Promise<void> {
    if (this.routes.size === 0) throw new ConfigError('consume()', 'no topic to consume: call app.consume(topic, handler) before starting')
    const consumer = this.requireConsumer()
    if (this.options.producer !== undefined) this.producer = this.options.producer
    else if (this.options.brokers !== undefined && this.options.brokers.length > 0) {
      this.producer = this.ownProducer = builtInProducer(this.options.brokers, this.options.kafka ?? {}, this.logger)
    }
    const needsProducer = [...this.routes.values()].find((r) => r.config.deadLetterTopic !== undefined)
    if (needsProducer !== undefined && this.producer === undefined) {
      throw new ConfigError(
        'producer',
        `consume('${needsProducer.topic}') sends failed records to ${needsProducer.config.deadLetterTopic} and needs a producer: ` +
          `pass \`producer\`, or set deadLetter: false to skip failed records`,
      )
    }
    const transactional = this.transactionalDelivery(consumer)
    this.state = 'starting'
    const send = this.send.bind(this)
    const store = this.config.store
    if (store !== undefined && [...this.routes.values()].some((r) => r.config.delivery.mode === 'store')) {
      this.storeDelivery = new StoreDelivery({
        store: new OffsetStore({ database: store.database, idleTimeoutMs: store.idleTimeoutMs, ...(store.table === undefined ? {} : { table: store.table }) }),
        groupId: this.config.groupId,
        consumer,
        maxRecords: store.maxRecords,
        maxMs: store.maxMs,
        logger: this.logger,
        onFatal: (error) => void this.shutdown('fatal', error),
      })
    }
    this.processor = new Processor({
      config: this.config,
      consumer,
      routes: this.routes,
      logger: this.logger,
      metrics: this.metrics,
      produce: send,
      onFatal: (error) => void this.shutdown('fatal', error),
      brokers: this.options.consumer === undefined ? String(this.options.brokers) : undefined,
      deliveryFor: (route) => (route.config.delivery.mode === 'transactional' ? transactional : route.config.delivery.mode === 'store' ? this.storeDelivery : undefined),
    })
    try {
      // Before joining: a restarted member fences its predecessor's open transaction first.
      await transactional?.init()
      await this.processor.start()
    } catch (error) {
      this.state = 'stopped'
      this.stopping ??= this.processor.stop().then(
        () => this.failedStart(error as Error),
        () => this.failedStart(error as Error),
      )
      await this.stopping
      throw error
    }
    // A stop asked for while joining: the stop has taken over.
    if (this.state !== 'starting') return
    this.state = 'running'
    const status = consumer.status?.()
    this.logger.info(
      {
        groupId: this.config.groupId,
        topics: [...this.routes.keys()],
        ...(status === undefined ? {} : { memberId: status.memberId, generationId: status.generationId, protocol: status.protocol }),
        owned: this.processor.ownedPartitions.map((tp) => `${tp.topic}[${tp.partition}]`),
      },
      'baton started',
    )
  }

  private async failedStart(error: Error): Promise<RunResult> {
    await this.closeDeliveries()
    await this.closeOwnProducer()
    const result: RunResult = { reason: 'fatal', exitCode: EXIT_CODES.fatal, aborted: 0, error, uncommitted: [] }
    this.logger.error({ err: error }, `baton could not start: ${error.message}`)
    this.finish(result)
    return result
  }

  /**
   * Whether the workers make progress: live while idle or while some handler settled within
   * `livenessTimeoutMs`. For a health endpoint; a stuck handler never delays heartbeats.
   */
  health(): Health {
    const health = this.state === 'stopped' ? undefined : this.processor?.health(this.config.livenessTimeoutMs)
    return health ?? { ready: false, live: this.state !== 'stopped', msSinceProgress: 0, inFlight: 0, queued: 0, partitions: 0 }
  }

  /**
   * Stops starting records of these partitions (those running finish) until `resume`. Only owned
   * partitions are paused, and a pause ends when its partition is revoked. Returns those paused.
   */
  pause(partitions: readonly TopicPartition[]): TopicPartition[] {
    return this.processor?.pause(partitions) ?? []
  }

  /** Resumes partitions paused by `pause` or `ctx.pause()`; returns those resumed. */
  resume(partitions: readonly TopicPartition[]): TopicPartition[] {
    return this.processor?.resume(partitions) ?? []
  }

  /** Owned partitions paused by the application. */
  paused(): TopicPartition[] {
    return this.processor?.paused() ?? []
  }

  /**
   * Moves an owned partition to `offset` (`'earliest'`, `'latest'`): its running handlers settle
   * (or are aborted at `drainTimeoutMs`), records queued from before are dropped, processing goes
   * on from the target, and the target is committed; resolves after that commit (or once the
   * partition left this instance meanwhile: a revocation commits the target, a loss nothing). From a handler
   * of the same partition use `ctx.seek` (awaiting this there would wait for the handler itself).
   * Rejects with `PartitionNotOwnedError` for a partition this instance does not own now. The
   * README's "Seek" section has the whole rule.
   */
  async seek(partition: TopicPartition, offset: SeekOffset): Promise<void> {
    if (this.processor === undefined) {
      throw new PartitionNotOwnedError(partition.topic, partition.partition, 'seek', 'start the app and seek partitions once they are assigned')
    }
    await this.processor.seek(partition, offset)
  }

  /** Graceful stop: stop fetching, drain up to `shutdownTimeoutMs`, commit, leave the group. */
  stop(): Promise<RunResult> {
    return this.shutdown('stopped', undefined)
  }

  /**
   * Starts, then runs until SIGINT/SIGTERM (or `stop()`, or a fatal consumer error), then stops
   * gracefully. A second signal aborts everything and exits at once; the same signal again within
   * `SIGNAL_REPEAT_WINDOW_MS` is not a second one (`timeout -s INT`, or a terminal, signals every
   * process of the group, and wrappers forward it too). Sets `process.exitCode`. Rejects if the
   * app cannot start (`BrokersUnreachableError` when no broker answers within `unreachableTimeoutMs`),
   * with `process.exitCode` 1.
   */
  async run(): Promise<RunResult> {
    // Handlers go in before starting, so that a signal during a slow join still stops the app.
    let first: { signal: NodeJS.Signals; at: number } | undefined
    const onSignal = (signal: NodeJS.Signals): void => {
      const now = Date.now()
      if (first === undefined) {
        first = { signal, at: now }
        this.logger.info({ signal }, 'stopping: draining in-flight work (send the signal again to force)')
        void this.shutdown('signal', undefined)
        return
      }
      if (signal === first.signal && now - first.at < SIGNAL_REPEAT_WINDOW_MS) {
        this.logger.debug({ signal }, 'the same signal again at once: taken as the same stop request')
        return
      }
      this.logger.warn({ signal }, 'forced stop: aborting in-flight work without committing')
      this.processor?.abortAll()
      const code = 128 + signalNumber(signal)
      this.finish({ reason: 'forced', exitCode: code, aborted: 0, error: undefined, uncommitted: [] })
      ;(this.options.exit ?? process.exit)(code)
    }
    for (const signal of this.config.signals) process.on(signal, onSignal)
    try {
      try {
        await this.start()
      } catch (error) {
        process.exitCode = EXIT_CODES.fatal
        throw error
      }
      const result = await this.finished
      process.exitCode = result.exitCode
      return result
    } finally {
      for (const signal of this.config.signals) process.off(signal, onSignal)
    }
  }

  private shutdown(reason: StopReason, error: Error | undefined): Promise<RunResult> {
    if (this.stopping !== undefined) return this.stopping
    if (this.state === 'configuring') {
      this.state = 'stopped'
      const result: RunResult = { reason, exitCode: EXIT_CODES.ok, aborted: 0, error, uncommitted: [] }
      this.finish(result)
      this.stopping = Promise.resolve(result)
      return this.stopping
    }
    const wasRunning = this.state === 'running'
    this.state = 'stopping'
    this.stopping = this.stopProcessor(reason, error, wasRunning)
    return this.stopping
  }

  private async stopProcessor(reason: StopReason, error: Error | undefined, wasRunning: boolean): Promise<RunResult> {
    let result: RunResult
    try {
      // Stopping a running app starts at once (no await before it), so nothing more is dispatched;
      // a stop while joining ends the join wait too.
      if (!wasRunning && this.processor === undefined) await this.starting?.catch(() => undefined)
      const handOff = await (this.processor as Processor).stop()
      const exitCode =
        reason === 'fatal'
          ? EXIT_CODES.fatal
          : handOff.commitError !== undefined
            ? EXIT_CODES.commitFailed
            : handOff.aborted > 0
              ? EXIT_CODES.drainTimeout
              : EXIT_CODES.ok
      result = { reason, exitCode, aborted: handOff.aborted, error: error ?? handOff.commitError, uncommitted: handOff.uncommitted }
    } catch (closeError) {
      result = { reason, exitCode: EXIT_CODES.fatal, aborted: 0, error: error ?? (closeError as Error), uncommitted: [] }
    }
    await this.closeDeliveries()
    // A producer passed in is the caller's to close; it may serve more than this app.
    await this.closeOwnProducer()
    this.state = 'stopped'
    this.logger.info(
      { reason, exitCode: result.exitCode, aborted: result.aborted, ...(result.uncommitted.length > 0 ? { uncommitted: result.uncommitted.map((o) => `${o.topic}[${o.partition}]@${o.offset}`) } : {}) },
      'baton stopped',
    )
    this.finish(result)
    return result
  }

  private addRoute(subscription: string | RegExp, handler: unknown, options: ConsumeOptions<unknown> & { maxRecords?: number }, batch: boolean) {
    const pattern = subscription instanceof RegExp ? subscription : undefined
    const topic = pattern === undefined ? subscription : `/${pattern.source}/`
    const where = pattern === undefined ? `consume('${topic}')` : `consume(${topic})`
    this.requireState('configuring', where)
    if (pattern !== undefined) {
      if (pattern.flags.replace(/[gy]/g, '') !== '') throw new ConfigError(`${where} pattern`, `flags (${pattern.flags}) are not supported; write the pattern without them`)
      if (options.deadLetter === undefined) {
        throw new ConfigError(`${where}.deadLetter`, 'a pattern route needs its dead-letter topic named (one the pattern does not match), or false to skip failed records')
      }
    }
    const config = resolveTopicConfig(topic as string, handler, options, batch)
    if (config.delivery.mode === 'transactional') requireTransactionalSupport(where, this.options)
    if (config.delivery.mode === 'store' && this.config.store === undefined) {
      throw new ConfigError(`${where}.delivery`, "'store' needs the database: pass baton({ store: { database: postgresDatabase(pool) } }) (or pgliteDatabase(db)), both exported by 'baton'")
    }
    const key = pattern === undefined ? topic : patternKey(pattern)
    if (this.routes.has(key as string)) throw new ConfigError(where, 'this topic already has a handler; one handler per topic')
    return { topic: topic as string, pattern: pattern === undefined ? undefined : new RegExp(pattern.source), config }
  }

  /**
   * The route's chain, split at its failure path (`Chain`): `attempt` is the app's middleware, the
   * topic's and the handler; `recover` is the retries, then dead letters (or skipping). Both lanes
   * run this one form; a record that succeeds then costs one promise turn instead of one per layer.
   * With a handler that does little, those turns and the closures behind them were a large part of
   * the framework's cost per record.
   */
  private buildChain(
    topic: string,
    { retry: retryOptions, deadLetterTopic, delivery }: Route['config'],
    topicMiddleware: readonly Middleware[] | undefined,
    inner: Step,
  ): Chain {
    const metrics = this.metrics
    const logger = this.logger
    const deadLetterObserver: DeadLetterObserver = {
      deadLettered(work, ctx, error, dlt) {
        metrics?.deadLettered.inc({ topic }, work.records.length)
        logger.warn({ err: error, topic, partition: work.partition, offset: String(work.records[0]?.offset), deadLetterTopic: dlt }, 'record dead-lettered')
        for (const record of work.records) {
          publish('deadLettered', () => ({ topic, partition: work.partition, offset: record.offset, deadLetterTopic: dlt, attempts: ctx.attempt, error }))
        }
      },
      deadLetterProduceFailed(work, _ctx, error, dlt) {
        logger.warn({ err: error, topic, partition: work.partition, deadLetterTopic: dlt }, 'producing to the dead-letter topic failed; retrying')
      },
    }
    // eslint-disable-next-line @typescript-eslint/require-await -- async so that the rethrow is a rejection
    const skip: Recover = async (work, ctx, error) => {
      if (ctx.signal.aborted || ctx.revoking) throw error
      logger.error({ err: error, topic, partition: work.partition, offset: String(work.records[0]?.offset) }, 'record failed and dead letters are off: skipped')
      metrics?.deadLettered.inc({ topic }, work.records.length)
    }
    const last: Recover = deadLetterTopic === undefined ? skip : deadLetterFailure({ topic: deadLetterTopic, send: (record, ctx) => ctx.produce(record) }, deadLetterObserver)
    const retryObserver: RetryObserver = {
      attemptFailed(work, ctx, error, willRetry) {
        // The last failure is logged once, by the dead-letter or skip step that deals with it.
        if (willRetry) logger.warn({ err: error, topic, partition: work.partition, offset: String(work.records[0]?.offset), attempt: ctx.attempt }, 'handler failed; retrying')
        for (const record of work.records) {
          publish('recordFailed', () => ({ topic, partition: work.partition, offset: record.offset, attempt: ctx.attempt, error, willRetry }))
        }
      },
    }
    const composed = compose([...this.appMiddleware, ...(topicMiddleware ?? [])], inner)
    // Store mode: every attempt (retries included) runs in a savepoint of the partition's database transaction.
    const attempt: Step = delivery.mode === 'store' ? (work, ctx) => (this.storeDelivery as StoreDelivery).wrap(composed)(work, ctx) : composed
    const retrying = retryAfterFailure(retryOptions ?? { retries: 0, initialBackoffMs: 0, maxBackoffMs: 0 }, retryObserver, attempt)
    return { attempt, recover: thenRecover(retrying, last) }
  }

  private send(record: ProducedRecord): Promise<void> {
    if (this.producer === undefined) {
      return Promise.reject(new ConfigError('producer', 'ctx.produce needs a producer: pass `producer` or `brokers` to baton()'))
    }
    return this.producer.send(record)
  }

  /** The transactional routes' delivery, when there are any: one transactional producer for the process. */
  private transactionalDelivery(consumer: ConsumerPort): TransactionalDelivery | undefined {
    if (![...this.routes.values()].some((r) => r.config.delivery.mode === 'transactional')) return undefined
    const groupMetadata = consumer.groupMetadata?.bind(consumer)
    if (groupMetadata === undefined) {
      throw new ConfigError('consumer', "delivery: 'transactional' needs a consumer that reports its group metadata (groupMetadata()); use baton's built-in consumer (brokers)")
    }
    const settings = this.transactions
    return new TransactionalDelivery({
      settings,
      createProducer: () => builtInTransactionalProducer(this.options.brokers ?? [], this.options.kafka ?? {}, this.logger, settings),
      groupMetadata,
      logger: this.logger,
    })
  }

  private requireConsumer(): ConsumerPort {
    // resolveAppConfig has checked that brokers are given when no consumer is.
    return this.options.consumer ?? (this.builtIn as GroupConsumerPort)
  }

  /** The deliveries' own resources (a transactional producer, a database pool's claims), after the last commit. */
  private async closeDeliveries(): Promise<void> {
    for (const delivery of this.processor?.deliveriesInUse ?? []) {
      try {
        await delivery.close?.()
      } catch (error) {
        this.logger.warn({ err: error, delivery: delivery.mode }, 'closing the delivery failed')
      }
    }
  }

  private async closeOwnProducer(): Promise<void> {
    const producer = this.ownProducer
    this.ownProducer = undefined
    try {
      await producer?.close()
    } catch (error) {
      this.logger.warn({ err: error }, 'closing the dead-letter producer failed; records it still held may not have been written')
    }
  }

  private requireState(expected: State, what: string): void {
    if (this.state !== expected) throw new AppStateError(`${what} is not allowed once the app is ${this.state}; configure the app before start() or run()`)
  }
}

/**
 * Without a `deserialize` option the fetched record is handed over as it is: it already carries
 * everything a `ConsumedRecord` has, and a copy per record is a cost every handler would pay.
 */
function deserializer<V>(options: ConsumeOptions<V>): (record: FetchedRecord) => ConsumedRecord<V> {
  const decode = options.deserialize
  if (decode === undefined) return (record) => record as ConsumedRecord<unknown> as ConsumedRecord<V>
  return (record) => {
    let value: V
    try {
      value = decode(record.value, record)
    } catch (error) {
      throw new DeserializationError('value', { cause: error })
    }
    const { topic, partition, offset, timestamp, key, headers } = record
    return { topic, partition, offset, timestamp, key, value, headers }
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0
}
