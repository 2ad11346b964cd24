/**
 * The user API: `baton({ groupId, ... })`, `app.consume(topic, handler, options)`, `await app.run()`.
 *
 * ```ts
 * const app = baton({ brokers: ['localhost:9092'], groupId: 'orders' })
 * app.consume('orders', async (record, ctx) => {
 *   await chargeCard(JSON.parse(String(record.value)), { signal: ctx.signal })
 * }, { concurrency: 'key', retries: 5 })
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
import type { ConsumerPort, FetchedRecord, ProducedRecord, ProducerPort } from './consumer-port.js'
import { deadLetterFailure, type DeadLetterObserver } from './dead-letter.js'
import { AppStateError, ConfigError, DeserializationError } from './errors.js'
import { compose, thenRecover, type BatchHandler, type Chain, type ConsumedRecord, type Middleware, type RecordHandler, type Recover, type Step } from './handler.js'
import { ProcessingMetrics, publish } from './instrumentation.js'
import { Job } from './job.js'
import { builtInConsumer, builtInProducer } from './adapters/built-in.js'
import { defaultLogger, type Logger } from './logger.js'
import { Processor, type Health, type Route } from './processor.js'
import { retryAfterFailure, type RetryObserver } from './retry.js'

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
}

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

  constructor(private readonly options: BatonAppOptions) {
    this.config = resolveAppConfig(options)
    this.logger = options.logger ?? defaultLogger()
    this.metricsRegistry = options.metrics?.registry
    this.metrics = options.metrics === undefined ? undefined : new ProcessingMetrics(options.metrics.registry, options.metrics.prefix)
    this.finished = new Promise((resolve) => (this.finish = resolve))
  }

  /** Handle each record of `topic` with `handler`. Returns the app, for chaining. */
  consume<V = Buffer | null>(topic: string, handler: RecordHandler<NoInfer<V>>, options: ConsumeOptions<V> = {}): this {
    const config = this.addRoute(topic, handler, options, false)
    const deserialize = deserializer(options)
    // Deserialization runs inside the chain so that its failures take the dead-letter path.
    // A job holds its record directly; reading `records` would build a list just to index it.
    const inner: Step = (work, ctx) => handler(deserialize(work instanceof Job ? work.first : (work.records[0] as FetchedRecord)), ctx)
    this.routes.set(topic, { topic, config, chain: this.buildChain(topic, config.retry, config.deadLetterTopic, options.middleware, inner) })
    return this
  }

  /** Handle records of `topic` in batches of up to `maxRecords`, in offset order. A batch is done (and dead-lettered) as a whole. */
  consumeBatch<V = Buffer | null>(topic: string, handler: BatchHandler<NoInfer<V>>, options: BatchConsumeOptions<V> = {}): this {
    const config = this.addRoute(topic, handler, options, true)
    const deserialize = deserializer(options)
    const inner: Step = (work, ctx) => handler(work.records.map(deserialize), ctx)
    this.routes.set(topic, { topic, config, chain: this.buildChain(topic, config.retry, config.deadLetterTopic, options.middleware, inner) })
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
      this.producer = this.ownProducer = builtInProducer(this.options.brokers, this.options.kafka)
    }
    const needsProducer = [...this.routes.values()].find((r) => r.config.deadLetterTopic !== undefined)
    if (needsProducer !== undefined && this.producer === undefined) {
      throw new ConfigError(
        'producer',
        `consume('${needsProducer.topic}') sends failed records to ${needsProducer.config.deadLetterTopic} and needs a producer: ` +
          `pass \`producer\`, or set deadLetter: false to skip failed records`,
      )
    }
    this.state = 'starting'
    const send = this.send.bind(this)
    this.processor = new Processor({
      config: this.config,
      consumer,
      routes: this.routes,
      logger: this.logger,
      metrics: this.metrics,
      produce: send,
      onFatal: (error) => void this.shutdown('fatal', error),
    })
    try {
      await this.processor.start()
    } catch (error) {
      this.state = 'stopped'
      await this.closeOwnProducer()
      this.finish({ reason: 'fatal', exitCode: EXIT_CODES.fatal, aborted: 0, error: error as Error })
      throw error
    }
    this.state = 'running'
    this.logger.info({ groupId: this.config.groupId, topics: [...this.routes.keys()] }, 'baton started')
  }

  /**
   * Whether the workers make progress: live while idle or while some handler settled within
   * `livenessTimeoutMs`. For a health endpoint; a stuck handler never delays heartbeats.
   */
  health(): Health {
    const health = this.processor?.health(this.config.livenessTimeoutMs)
    return health ?? { live: this.state !== 'stopped', msSinceProgress: 0, inFlight: 0, queued: 0, partitions: 0 }
  }

  /** Graceful stop: stop fetching, drain up to `shutdownTimeoutMs`, commit, leave the group. */
  stop(): Promise<RunResult> {
    return this.shutdown('stopped', undefined)
  }

  /**
   * Starts, then runs until SIGINT/SIGTERM (or `stop()`, or a fatal consumer error), then stops
   * gracefully. A second signal aborts everything and exits at once. Sets `process.exitCode`.
   */
  async run(): Promise<RunResult> {
    // Handlers go in before starting, so that a signal during a slow join still stops the app.
    let signalled = 0
    const onSignal = (signal: NodeJS.Signals): void => {
      signalled++
      if (signalled === 1) {
        this.logger.info({ signal }, 'stopping: draining in-flight work (send the signal again to force)')
        void this.shutdown('signal', undefined)
        return
      }
      this.logger.warn({ signal }, 'forced stop: aborting in-flight work without committing')
      this.processor?.abortAll()
      const code = 128 + signalNumber(signal)
      this.finish({ reason: 'forced', exitCode: code, aborted: 0, error: undefined })
      ;(this.options.exit ?? process.exit)(code)
    }
    for (const signal of this.config.signals) process.on(signal, onSignal)
    try {
      await this.start()
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
      const result: RunResult = { reason, exitCode: EXIT_CODES.ok, aborted: 0, error }
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
      // Stopping a running app starts at once (no await before it), so nothing more is dispatched.
      if (!wasRunning) await this.starting
      const handOff = await (this.processor as Processor).stop()
      const exitCode =
        reason === 'fatal'
          ? EXIT_CODES.fatal
          : handOff.commitError !== undefined
            ? EXIT_CODES.commitFailed
            : handOff.aborted > 0
              ? EXIT_CODES.drainTimeout
              : EXIT_CODES.ok
      result = { reason, exitCode, aborted: handOff.aborted, error: error ?? handOff.commitError }
    } catch (closeError) {
      result = { reason, exitCode: EXIT_CODES.fatal, aborted: 0, error: error ?? (closeError as Error) }
    }
    // A producer passed in is the caller's to close; it may serve more than this app.
    await this.closeOwnProducer()
    this.state = 'stopped'
    this.logger.info({ reason, exitCode: result.exitCode, aborted: result.aborted }, 'baton stopped')
    this.finish(result)
    return result
  }

  private addRoute(topic: string, handler: unknown, options: ConsumeOptions<unknown> & { maxRecords?: number }, batch: boolean) {
    this.requireState('configuring', `consume('${topic}')`)
    const config = resolveTopicConfig(topic, handler, options, batch)
    if (this.routes.has(topic)) throw new ConfigError(`consume('${topic}')`, 'this topic already has a handler; one handler per topic')
    return config
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
    retryOptions: Route['config']['retry'],
    deadLetterTopic: string | undefined,
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
    const last: Recover = deadLetterTopic === undefined ? skip : deadLetterFailure({ topic: deadLetterTopic, send: (record) => this.send(record) }, deadLetterObserver)
    const retryObserver: RetryObserver = {
      attemptFailed(work, ctx, error, willRetry) {
        logger.warn({ err: error, topic, partition: work.partition, offset: String(work.records[0]?.offset), attempt: ctx.attempt, willRetry }, 'handler failed')
        for (const record of work.records) {
          publish('recordFailed', () => ({ topic, partition: work.partition, offset: record.offset, attempt: ctx.attempt, error, willRetry }))
        }
      },
    }
    const attempt = compose([...this.appMiddleware, ...(topicMiddleware ?? [])], inner)
    const retrying = retryAfterFailure(retryOptions ?? { retries: 0, initialBackoffMs: 0, maxBackoffMs: 0 }, retryObserver, attempt)
    return { attempt, recover: thenRecover(retrying, last) }
  }

  private send(record: ProducedRecord): Promise<void> {
    if (this.producer === undefined) {
      return Promise.reject(new ConfigError('producer', 'ctx.produce needs a producer: pass `producer` or `brokers` to baton()'))
    }
    return this.producer.send(record)
  }

  private requireConsumer(): ConsumerPort {
    if (this.options.consumer !== undefined) return this.options.consumer
    // resolveAppConfig has checked that brokers are given when no consumer is.
    return builtInConsumer(this.options.brokers ?? [], this.config.groupId, this.config.rebalanceTimeoutMs, this.options.kafka, this.logger)
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
