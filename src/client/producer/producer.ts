/**
 * The producer: `send()` a record, get a promise of where it landed.
 *
 * Records are batched per partition (up to batchSize bytes, waiting at most lingerMs for more),
 * compressed per batch, and sent to partition leaders. The producer is idempotent by default, as
 * Kafka's clients are since 3.0: retries never write a record twice or out of order.
 *
 * With a `transactionalId` the producer is transactional: its records are sent only inside a
 * transaction, which commits or aborts as a whole (transaction-manager.ts owns that; this file only
 * forwards to it, and the sender asks it before sending a partition's batches).
 */
import type { CompressionCodec, RecordHeaderInput, RecordInput } from '../../protocol/records/index.js'
import { Cluster } from '../cluster.js'
import { boolOption, CLIENT_OPTION_NAMES, enumOption, intOption, resolveClientConfig, type ClientConfig } from '../config.js'
import { everyKeyOf } from '../option-names.js'
import { ClientClosedError, ConfigError, InvalidRecordError } from '../errors.js'
import { estimateRecordSize, SendGroup, type RecordMetadata } from './batch.js'
import { ProducerIdentity } from './idempotence.js'
import { partitionForKey } from './murmur2.js'
import { Sender, type SenderOptions } from './sender.js'
import { StickyPartitioner } from './sticky-partitioner.js'
import { TransactionStateError } from './transaction-errors.js'
import { TransactionManager, type ConsumerGroupMetadata, type TransactionOffset } from './transaction-manager.js'
import type { TransactionState } from './transaction-state.js'

export type { RecordMetadata } from './batch.js'
export type { ConsumerGroupMetadata, TransactionOffset } from './transaction-manager.js'
export type { TransactionState } from './transaction-state.js'

export interface ProducerRecord {
  topic: string
  value: Uint8Array | string | null
  key?: Uint8Array | string | null
  /** Chosen by the partitioner when absent: murmur2 of the key, or a sticky partition for null keys (KIP-794). */
  partition?: number
  headers?: Readonly<Record<string, Uint8Array | string>> | readonly RecordHeaderInput[]
  /** Milliseconds since the epoch; now when absent. */
  timestamp?: number
}

/** Picks a partition; return a number in [0, partitionCount). */
export type Partitioner = (record: { topic: string; key: Uint8Array | null; partitionCount: number }) => number

export interface ProducerConfig extends ClientConfig {
  /** -1 (all in-sync replicas, the default), 1 (leader only) or 0 (no acknowledgement). */
  acks?: -1 | 0 | 1
  /** Default true; requires acks -1. Set false explicitly to use acks 0 or 1. */
  idempotent?: boolean
  /** Time a batch waits for more records before it is sent. Default 5 ms (Kafka 4's default). */
  lingerMs?: number
  /** Bytes of records per partition batch. Default 16 KiB. */
  batchSize?: number
  /** Largest Produce request. Default 1 MiB. */
  maxRequestSize?: number
  compression?: CompressionCodec
  /** Bytes of records waiting to be sent; send() waits (or rejects) beyond it. Default 32 MiB. */
  bufferMemory?: number
  /** How long send() waits for buffer space and for topic metadata. 0 rejects at once. Default 60 s. */
  maxBlockMs?: number
  /** Upper bound on the time from send() to its promise settling, retries included. Default 120 s. */
  deliveryTimeoutMs?: number
  partitioner?: Partitioner
  /**
   * Makes the producer transactional: records are sent only inside a transaction, and commit or
   * abort together with any consumer offsets sent with them. One live producer per id: starting
   * a new one with the same id fences the old one. Requires idempotence (the default).
   */
  transactionalId?: string
  /** How long the coordinator lets a transaction stay open before it aborts it. Default 60 000. */
  transactionTimeoutMs?: number
}

const PRODUCER_OPTION_NAMES = everyKeyOf<ProducerConfig>()([
  ...CLIENT_OPTION_NAMES,
  'acks',
  'idempotent',
  'lingerMs',
  'batchSize',
  'maxRequestSize',
  'compression',
  'bufferMemory',
  'maxBlockMs',
  'deliveryTimeoutMs',
  'partitioner',
  'transactionalId',
  'transactionTimeoutMs',
])

/** A transaction opened by `producer.transaction()`: send records and offsets in it. */
export interface Transaction {
  send(record: ProducerRecord): Promise<RecordMetadata>
  sendBatch(records: readonly ProducerRecord[]): Promise<RecordMetadata[]>
  sendOffsets(offsets: readonly TransactionOffset[], group: ConsumerGroupMetadata): Promise<void>
}

const COMPRESSION_CODECS: readonly CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

export class Producer {
  readonly cluster: Cluster
  private readonly sender: Sender
  private readonly partitioner: Partitioner | undefined
  private readonly maxBlockMs: number
  private readonly maxRequestSize: number
  private readonly sticky: StickyPartitioner
  /** One metadata wait per unknown topic, however many sends are waiting for it. */
  private readonly topicWaits = new Map<string, Promise<void>>()
  private readonly pendingAppends = new Set<Promise<unknown>>()
  private closing = false
  private readonly transactions: TransactionManager | null

  constructor(config: ProducerConfig) {
    const client = resolveClientConfig(config, PRODUCER_OPTION_NAMES)
    const acks = enumOption(config, 'acks', -1, [-1, 0, 1] as const)
    // As in Kafka's clients, idempotence is the default only where acks allows it.
    const idempotent = boolOption(config, 'idempotent', acks === -1)
    if (idempotent && acks !== -1) {
      throw new ConfigError('acks', `must be -1 (all) for an idempotent producer, got ${acks}; set idempotent: false to use acks ${acks}`)
    }
    const options: SenderOptions = {
      acks,
      lingerMs: intOption(config, 'lingerMs', 5, 0, 60_000),
      batchSize: intOption(config, 'batchSize', 16_384, 1, 64 * 1024 * 1024),
      maxRequestSize: intOption(config, 'maxRequestSize', 1_048_576, 1024),
      compression: enumOption(config, 'compression', 'none', COMPRESSION_CODECS),
      deliveryTimeoutMs: intOption(config, 'deliveryTimeoutMs', 120_000, 1),
      requestTimeoutMs: client.requestTimeoutMs,
      retryBackoffMs: client.retryBackoffMs,
      retryBackoffMaxMs: client.retryBackoffMaxMs,
      bufferMemory: intOption(config, 'bufferMemory', 32 * 1024 * 1024, 1024),
      maxBlockMs: intOption(config, 'maxBlockMs', 60_000, 0),
    }
    if (options.deliveryTimeoutMs < options.lingerMs + client.requestTimeoutMs) {
      throw new ConfigError(
        'deliveryTimeoutMs',
        `must be at least lingerMs + requestTimeoutMs (${options.lingerMs + client.requestTimeoutMs} ms), got ${options.deliveryTimeoutMs}`,
      )
    }
    if (config.partitioner !== undefined && typeof config.partitioner !== 'function') throw new ConfigError('partitioner', 'must be a function')
    this.partitioner = config.partitioner
    this.maxBlockMs = options.maxBlockMs
    this.maxRequestSize = options.maxRequestSize
    this.sticky = new StickyPartitioner(options.batchSize)
    this.cluster = new Cluster(client)
    const identity = idempotent ? new ProducerIdentity(this.cluster) : null
    this.transactions = transactionManager(config, this.cluster, identity, options.maxBlockMs)
    this.sender = new Sender(this.cluster, options, identity, this.transactions)
    this.transactions?.bind({
      wake: () => this.sender.wake(),
      abortUndrained: (error) => this.sender.abortUndrained(error),
      flush: () => this.flush(),
      appended: () => this.appended(),
    })
  }

  /** The transaction's state (`'ready'`, `'in-transaction'`, ...), or undefined without a transactionalId. */
  get transactionState(): TransactionState | undefined {
    return this.transactions?.state
  }

  /**
   * Gets this transactional id's producer id and epoch from its transaction coordinator, fencing
   * any older producer with the same id and completing its open transaction. Call once, first.
   * @throws ProducerFencedError or TransactionFatalError when the coordinator refuses for good;
   * a retriable error after maxBlockMs (call it again).
   */
  initTransactions(): Promise<void> {
    return this.transactional('initTransactions').initTransactions()
  }

  /** Opens a transaction: what is sent until commit or abort goes in it. */
  beginTransaction(): void {
    this.transactional('beginTransaction').beginTransaction()
  }

  /** Commits the consumer's offsets with the open transaction (consume-transform-produce, KIP-447). */
  sendOffsets(offsets: readonly TransactionOffset[], group: ConsumerGroupMetadata): Promise<void> {
    return this.transactional('sendOffsets').sendOffsets(offsets, group)
  }

  /**
   * Waits until every record of the transaction is acknowledged, then commits it.
   * @throws TransactionAbortableError (abort, then do the work again) or a fatal error (close the producer).
   */
  commitTransaction(): Promise<void> {
    return this.transactional('commitTransaction').commitTransaction()
  }

  /** Aborts the open transaction: its records and offsets are never seen by read_committed consumers. */
  abortTransaction(): Promise<void> {
    return this.transactional('abortTransaction').abortTransaction()
  }

  /**
   * Runs `work` in a transaction: commits when it resolves, aborts when it throws (or when the
   * commit fails in a way an abort handles) and rethrows. Calls initTransactions() on first use.
   * A `TransactionAbortableError` means the work can be run again; a fatal error means close.
   */
  async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const manager = this.transactional('transaction')
    if (manager.state === 'uninitialized') await manager.initTransactions()
    manager.beginTransaction()
    let open = true
    const guard = (): void => {
      if (!open) throw new TransactionStateError(manager.state, 'this transaction has ended; use the tx of the current transaction() call')
    }
    const tx: Transaction = {
      send: (record) => (open ? this.send(record) : Promise.reject(new TransactionStateError(manager.state, 'cannot send: this transaction has ended'))),
      sendBatch: (records) => Promise.all(records.map((r) => tx.send(r))),
      sendOffsets: async (offsets, group) => {
        guard()
        await manager.sendOffsets(offsets, group)
      },
    }
    let result: T
    try {
      result = await work(tx)
      open = false
      await manager.commitTransaction()
    } catch (error) {
      open = false
      const state = manager.state
      if (state === 'in-transaction' || state === 'abortable-error') await manager.abortTransaction()
      throw error
    }
    return result
  }

  private transactional(method: string): TransactionManager {
    if (this.transactions === null) throw new ConfigError('transactionalId', `${method}() needs a transactional producer; set transactionalId in the producer's options`)
    return this.transactions
  }

  private async appended(): Promise<void> {
    while (this.pendingAppends.size > 0) await Promise.allSettled([...this.pendingAppends])
  }

  /** Connects to the cluster. Optional: send() connects on first use. */
  async connect(): Promise<void> {
    if (this.closing) throw new ClientClosedError('The producer')
    await this.cluster.connect()
  }

  /**
   * Queues a record and resolves with its partition and offset once the broker has it (per acks).
   * Rejects with a KafkaError (the broker refused it for good), DeliveryTimeoutError (retries ran
   * out of time), BufferFullError, InvalidRecordError or ClientClosedError.
   */
  send(record: ProducerRecord): Promise<RecordMetadata> {
    if (this.closing) return Promise.reject(new ClientClosedError('The producer'))
    if (this.transactions !== null) {
      const refused = this.transactions.refuseSend()
      if (refused !== undefined) return Promise.reject(refused)
    }
    let input: RecordInput
    let size: number
    try {
      input = toRecordInput(record)
      size = this.checkedSize(input)
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    const count = this.cluster.partitionCount(record.topic)
    if (count > 0) {
      const reserved = this.sender.reserve(size)
      // Fast path: metadata known and buffer space free, so the record joins a batch synchronously.
      if (reserved === undefined) return this.appendKnown(record, input, size, count)
    }
    return this.sendSlow(record, input, size)
  }

  private checkedSize(input: RecordInput): number {
    const size = estimateRecordSize(input)
    if (size > this.maxRequestSize) {
      throw new InvalidRecordError(`a record of about ${size} bytes exceeds maxRequestSize (${this.maxRequestSize}); raise maxRequestSize (and the topic's max.message.bytes) or send smaller records`)
    }
    return size
  }

  /** Waits for metadata or buffer space first. flush() waits for this step, not for delivery. */
  private sendSlow(record: ProducerRecord, input: RecordInput, size: number): Promise<RecordMetadata> {
    const appended = this.appendSlow(record, input, size)
    this.pendingAppends.add(appended)
    void appended.finally(() => this.pendingAppends.delete(appended)).catch(() => undefined)
    return appended.then((delivery) => delivery.promise)
  }

  /**
   * Sends many records; resolves with their metadata, in order, when all are acknowledged, and
   * rejects with the first failure. Every record is checked first: one invalid record refuses the
   * whole call, and nothing is sent. Faster than a send() per record: the records share one promise.
   */
  sendBatch(records: readonly ProducerRecord[]): Promise<RecordMetadata[]> {
    if (this.closing) return Promise.reject(new ClientClosedError('The producer'))
    const inputs = new Array<RecordInput>(records.length)
    const sizes = new Array<number>(records.length)
    try {
      for (let i = 0; i < records.length; i++) {
        inputs[i] = toRecordInput(records[i]!)
        sizes[i] = this.checkedSize(inputs[i]!)
      }
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    const group = new SendGroup(records.length)
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!
      const count = this.cluster.partitionCount(record.topic)
      if (count > 0 && this.sender.reserve(sizes[i]!) === undefined) {
        this.appendToGroup(record, inputs[i]!, sizes[i]!, count, group, i)
        continue
      }
      // Metadata or buffer space to wait for first; flush() waits for this step, as for send().
      const appended = this.appendSlowToGroup(record, inputs[i]!, sizes[i]!, group, i)
      this.pendingAppends.add(appended)
      void appended.finally(() => this.pendingAppends.delete(appended)).catch(() => undefined)
    }
    return group.promise
  }

  private appendToGroup(record: ProducerRecord, input: RecordInput, size: number, count: number, group: SendGroup, slot: number): void {
    const partition = this.partitionOrFail(record, input, size, count)
    if (typeof partition !== 'number') {
      group.fail(partition)
      return
    }
    this.transactions?.onAppend(record.topic, partition)
    this.sender.appendToGroup(record.topic, partition, input, size, group, slot)
  }

  private async appendSlowToGroup(record: ProducerRecord, input: RecordInput, size: number, group: SendGroup, slot: number): Promise<void> {
    try {
      if (this.cluster.partitionCount(record.topic) === 0) await this.waitForTopic(record.topic)
      await this.sender.reserve(size)
    } catch (error) {
      group.fail(error instanceof Error ? error : new Error(String(error)))
      return
    }
    this.appendToGroup(record, input, size, this.cluster.partitionCount(record.topic), group, slot)
  }

  /** Sends everything queued without waiting for linger, and resolves once it has all settled. */
  async flush(): Promise<void> {
    await this.appended()
    await this.sender.flush()
  }

  /** Flushes, then closes connections. Records still unsent after `timeoutMs` fail with ClientClosedError. */
  async close(timeoutMs = 30_000): Promise<void> {
    if (this.closing) return
    this.closing = true
    let timer: NodeJS.Timeout | undefined
    // An open transaction is aborted rather than left for the coordinator's timeout to end.
    const finish = async (): Promise<void> => {
      await this.flush().catch(() => undefined)
      await this.transactions?.close()
    }
    await Promise.race([finish(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
    this.sender.abort(new ClientClosedError('The producer'))
    await this.cluster.close()
  }

  private async appendSlow(record: ProducerRecord, input: RecordInput, size: number): Promise<{ promise: Promise<RecordMetadata> }> {
    // A record accepted before close() is still delivered: close() flushes these appends first.
    if (this.cluster.partitionCount(record.topic) === 0) await this.waitForTopic(record.topic)
    await this.sender.reserve(size)
    // Wrapped so that awaiting this step does not wait for the delivery itself.
    return { promise: this.appendKnown(record, input, size, this.cluster.partitionCount(record.topic)) }
  }

  private waitForTopic(topic: string): Promise<void> {
    let wait = this.topicWaits.get(topic)
    if (wait === undefined) {
      wait = this.cluster.waitForTopics([topic], Math.max(this.maxBlockMs, 1)).finally(() => this.topicWaits.delete(topic))
      this.topicWaits.set(topic, wait)
    }
    return wait
  }

  private appendKnown(record: ProducerRecord, input: RecordInput, size: number, count: number): Promise<RecordMetadata> {
    const partition = this.partitionOrFail(record, input, size, count)
    if (typeof partition !== 'number') return Promise.reject(partition)
    this.transactions?.onAppend(record.topic, partition)
    return this.sender.append(record.topic, partition, input, size)
  }

  /** The record's partition; or, when it has none, the error (with its reserved bytes returned). */
  private partitionOrFail(record: ProducerRecord, input: RecordInput, size: number, count: number): number | Error {
    try {
      return this.choosePartition(record, input, size, count)
    } catch (error) {
      this.sender.unreserve(size)
      return error instanceof Error ? error : new Error(String(error))
    }
  }

  private choosePartition(record: ProducerRecord, input: RecordInput, size: number, count: number): number {
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= count) {
        throw new InvalidRecordError(`partition ${record.partition} does not exist: topic ${JSON.stringify(record.topic)} has ${count} partitions (0-${count - 1})`)
      }
      return record.partition
    }
    const key = input.key === undefined || input.key === null ? null : typeof input.key === 'string' ? Buffer.from(input.key) : input.key
    if (this.partitioner !== undefined) {
      const chosen = this.partitioner({ topic: record.topic, key, partitionCount: count })
      if (!Number.isInteger(chosen) || chosen < 0 || chosen >= count) {
        throw new InvalidRecordError(`the partitioner returned ${chosen} for topic ${JSON.stringify(record.topic)}, which has partitions 0-${count - 1}`)
      }
      return chosen
    }
    if (key !== null) return partitionForKey(key, count)
    return this.sticky.partition(record.topic, count, size)
  }
}

function transactionManager(config: ProducerConfig, cluster: Cluster, identity: ProducerIdentity | null, maxBlockMs: number): TransactionManager | null {
  if (config.transactionalId === undefined) {
    if (config.transactionTimeoutMs !== undefined) throw new ConfigError('transactionTimeoutMs', 'only applies with a transactionalId')
    return null
  }
  if (typeof config.transactionalId !== 'string' || config.transactionalId.length === 0) throw new ConfigError('transactionalId', 'must be a non-empty string')
  if (identity === null) throw new ConfigError('idempotent', 'a transactional producer is idempotent; remove idempotent: false (and use acks -1)')
  return new TransactionManager(cluster, identity, {
    transactionalId: config.transactionalId,
    transactionTimeoutMs: intOption(config, 'transactionTimeoutMs', 60_000, 1, 2_147_483_647),
    timeoutMs: Math.max(maxBlockMs, 1),
    // Through the client's logger (silent unless the application gave one), never process warnings.
    onSlow: (message) => cluster.config.logger.warn({ transactionalId: config.transactionalId }, message),
  })
}

function toRecordInput(record: ProducerRecord): RecordInput {
  if (typeof record !== 'object' || record === null) throw new InvalidRecordError('a record must be an object with topic and value')
  if (typeof record.topic !== 'string' || record.topic.length === 0) throw new InvalidRecordError('record.topic must be a non-empty string')
  const timestamp = record.timestamp ?? Date.now()
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new InvalidRecordError(`record.timestamp must be milliseconds since the epoch, got ${record.timestamp}`)
  // Checked here so that one bad record is refused alone instead of failing the batch it would join.
  checkBytes('record.value', record.value, true)
  checkBytes('record.key', record.key, true)
  const headers = record.headers === undefined ? undefined : Array.isArray(record.headers) ? (record.headers as readonly RecordHeaderInput[]) : Object.entries(record.headers).map(([key, value]) => ({ key, value: value as Uint8Array | string }))
  for (const header of headers ?? []) {
    if (typeof header.key !== 'string') throw new InvalidRecordError(`record header keys must be strings, got ${typeof header.key}`)
    checkBytes(`header ${JSON.stringify(header.key)}`, header.value, true)
  }
  return headers === undefined ? { key: record.key ?? null, value: record.value ?? null, timestamp } : { key: record.key ?? null, value: record.value ?? null, timestamp, headers }
}

function checkBytes(what: string, value: unknown, nullable: boolean): void {
  if (value === undefined || (value === null && nullable)) return
  if (typeof value === 'string' || value instanceof Uint8Array) return
  throw new InvalidRecordError(`${what} must be a string, a Buffer/Uint8Array or null, got ${value === null ? 'null' : typeof value}`)
}
