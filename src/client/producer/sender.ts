/**
 * Moves batches from the accumulator to partition leaders. One Produce request per leader carries
 * the ready batch of each of its partitions; requests to different leaders (and to one leader, up
 * to the connection's in-flight cap) overlap.
 *
 * Ordering invariant: a partition has at most one batch on the wire. A batch that fails with a
 * retriable error stays at the head of its partition's queue and is sent again with the same
 * sequence number, so the broker either writes it once or recognises it as a duplicate; later
 * batches of the partition cannot overtake it. This trades the pipelining of several batches per
 * partition (Kafka allows five) for an ordering argument that needs no sequence-gap recovery.
 */
import { backoffDelay } from '../../net/backoff.js'
import { KafkaErrorCode, kafkaError, type KafkaError } from '../../protocol/errors/kafka-errors.js'
import { Produce, type ProduceResponse, type ProduceResponsePartitionProduceResponse } from '../../protocol/generated/index.js'
import type { CompressionCodec, RecordInput } from '../../protocol/records/index.js'
import { NO_PRODUCER_EPOCH, NO_PRODUCER_ID } from '../../protocol/records/index.js'
import type { Cluster } from '../cluster.js'
import { BufferFullError, ClientClosedError, DeliveryTimeoutError } from '../errors.js'
import { isRetriableError } from '../retry.js'
import { partitionKey } from '../membership/topic-partitions.js'
import { ProducerBatch, type PartitionQueue, type RecordMetadata } from './batch.js'
import type { ProducerIdentity } from './idempotence.js'

export interface SenderOptions {
  acks: -1 | 0 | 1
  lingerMs: number
  batchSize: number
  maxRequestSize: number
  compression: CompressionCodec
  deliveryTimeoutMs: number
  requestTimeoutMs: number
  retryBackoffMs: number
  retryBackoffMaxMs: number
  bufferMemory: number
  /** How long append() may wait for buffer space; 0 rejects at once when the buffer is full. */
  maxBlockMs: number
}

/** Errors that mean the client's idea of the partition leader is stale. */
const STALE_LEADER_CODES: ReadonlySet<number> = new Set([
  KafkaErrorCode.NOT_LEADER_OR_FOLLOWER,
  KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  KafkaErrorCode.LEADER_NOT_AVAILABLE,
  KafkaErrorCode.FENCED_LEADER_EPOCH,
  KafkaErrorCode.KAFKA_STORAGE_ERROR,
])

/**
 * What a transactional producer's sender asks of its transaction (transaction-manager.ts): a
 * partition's batches go out only once it is in the transaction, and a batch that fails for good
 * makes the transaction abortable.
 */
export interface SenderTransactionHooks {
  readonly transactionalId: string
  canSend(topic: string, partition: number): boolean
  onBatchFailed(error: Error): void
}

interface SpaceWaiter {
  readonly size: number
  readonly resolve: () => void
  readonly reject: (error: Error) => void
  readonly timer: NodeJS.Timeout
}

export class Sender {
  private readonly queues = new Map<string, PartitionQueue>()
  private bufferedBytes = 0
  private inFlightRequests = 0
  private flushing = 0
  private scheduled = false
  private timer: NodeJS.Timeout | undefined
  private timerAt = Infinity
  private waiters: SpaceWaiter[] = []
  private initializing = false
  private stopped = false

  constructor(
    private readonly cluster: Cluster,
    private readonly options: SenderOptions,
    private readonly identity: ProducerIdentity | null,
    private readonly transactions: SenderTransactionHooks | null = null,
  ) {}

  /** Bytes of records accepted and not yet settled. */
  get buffered(): number {
    return this.bufferedBytes
  }

  /** Waits until `size` bytes fit in the buffer, or rejects with BufferFullError. */
  reserve(size: number): Promise<void> | undefined {
    if (this.bufferedBytes + size <= this.options.bufferMemory && this.waiters.length === 0) {
      this.bufferedBytes += size
      return undefined
    }
    if (this.options.maxBlockMs === 0) {
      return Promise.reject(new BufferFullError(`the producer buffer (bufferMemory ${this.options.bufferMemory} bytes) is full; await earlier sends or flush() before sending more, or raise bufferMemory`))
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: SpaceWaiter = {
        size,
        resolve: () => {
          clearTimeout(waiter.timer)
          this.bufferedBytes += size
          resolve()
        },
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter)
          reject(new BufferFullError(`the producer buffer stayed full for maxBlockMs (${this.options.maxBlockMs} ms); the brokers are slower than the sends, or unreachable`))
          this.admitWaiters()
        }, this.options.maxBlockMs),
      }
      this.waiters.push(waiter)
    })
  }

  /** Returns bytes reserved for a record that was then refused. */
  unreserve(size: number): void {
    this.bufferedBytes -= size
    this.admitWaiters()
  }

  /** Adds a record whose bytes were reserved; the promise settles when the broker acknowledges it. */
  append(topic: string, partition: number, record: RecordInput, size: number): { promise: Promise<RecordMetadata>; batchFull: boolean } {
    if (this.stopped) {
      this.unreserve(size)
      return { promise: Promise.reject(new ClientClosedError('The producer')), batchFull: false }
    }
    const key = partitionKey(topic, partition)
    let queue = this.queues.get(key)
    if (queue === undefined) {
      queue = { topic, partition, batches: [], inFlight: false }
      this.queues.set(key, queue)
    }
    let batch = queue.batches.at(-1)
    // A batch that was sent once is sealed: its bytes and sequence numbers are fixed.
    if (batch === undefined || batch.attempts > 0 || (batch.count > 0 && batch.sizeBytes + size > this.options.batchSize)) {
      batch = new ProducerBatch(topic, partition, Date.now())
      queue.batches.push(batch)
    }
    const target = batch
    const promise = new Promise<RecordMetadata>((resolve, reject) => target.add(record, size, { resolve, reject }))
    const batchFull = target.sizeBytes >= this.options.batchSize
    if (batchFull || this.options.lingerMs === 0) this.wake()
    else this.wakeAt(target.createdAt + this.options.lingerMs)
    return { promise, batchFull }
  }

  /** Sends every batch now, ignoring linger, and resolves when all batches present have settled. */
  async flush(): Promise<void> {
    const batches = [...this.queues.values()].flatMap((q) => q.batches)
    if (batches.length === 0) return
    this.flushing++
    this.wake()
    try {
      await Promise.all(batches.map((b) => b.done))
    } finally {
      this.flushing--
    }
  }

  /** Fails whatever is still queued (after close's flush timed out) and stops. */
  abort(error: Error): void {
    this.stopped = true
    clearTimeout(this.timer)
    for (const queue of this.queues.values()) {
      for (const batch of queue.batches.splice(0)) this.settle(batch, error)
    }
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer)
      waiter.reject(error)
    }
  }

  /**
   * Fails every batch not on the wire (a transaction is aborted, or cannot commit any more).
   * Returns whether one of them had sequence numbers, which the broker may then never see.
   */
  abortUndrained(error: Error): boolean {
    let sequenced = false
    for (const queue of this.queues.values()) {
      const undrained = queue.batches.splice(queue.inFlight ? 1 : 0)
      for (const batch of undrained) {
        if (batch.baseSequence !== null) sequenced = true
        this.settle(batch, error)
      }
    }
    if (sequenced && this.identity !== null) this.identity.bumpNeeded = true
    return sequenced
  }

  wake(): void {
    if (this.scheduled || this.stopped) return
    this.scheduled = true
    setImmediate(() => this.drain())
  }

  private wakeAt(time: number): void {
    if (time >= this.timerAt || this.stopped) return
    clearTimeout(this.timer)
    this.timerAt = time
    this.timer = setTimeout(
      () => {
        this.timerAt = Infinity
        this.drain()
      },
      Math.max(0, time - Date.now()),
    )
  }

  private drain(): void {
    this.scheduled = false
    if (this.stopped) return
    const identity = this.identity
    if (identity !== null && !identity.ready) {
      // A transactional producer's identity comes from its transaction coordinator, never from here.
      if (this.transactions === null) this.prepareIdentity(identity)
      return
    }
    const now = Date.now()
    const byLeader = new Map<number, PartitionQueue[]>()
    let nextWake = Infinity
    for (const queue of this.queues.values()) {
      if (queue.inFlight) continue
      let head = queue.batches[0]
      while (head !== undefined && now - head.createdAt >= this.options.deliveryTimeoutMs) {
        queue.batches.shift()
        this.settle(head, new DeliveryTimeoutError(head.topic, head.partition, this.options.deliveryTimeoutMs, head.lastError))
        head = queue.batches[0]
      }
      if (head === undefined) continue
      if (this.transactions !== null && !this.transactions.canSend(queue.topic, queue.partition)) continue
      const ready = head.attempts > 0 || queue.batches.length > 1 || head.sizeBytes >= this.options.batchSize || now - head.createdAt >= this.options.lingerMs || this.flushing > 0
      if (!ready) {
        nextWake = Math.min(nextWake, head.createdAt + this.options.lingerMs)
        continue
      }
      if (head.retryAt > now) {
        nextWake = Math.min(nextWake, head.retryAt)
        continue
      }
      const leader = this.cluster.leaderOf(queue.topic, queue.partition)
      if (leader === undefined) {
        this.cluster.refresh().catch(() => undefined)
        nextWake = Math.min(nextWake, now + this.options.retryBackoffMs)
        continue
      }
      let list = byLeader.get(leader)
      if (list === undefined) byLeader.set(leader, (list = []))
      list.push(queue)
    }
    for (const [leader, queues] of byLeader) this.sendTo(leader, queues)
    if (nextWake !== Infinity) this.wakeAt(nextWake)
  }

  private prepareIdentity(identity: ProducerIdentity): void {
    // A bump must wait for in-flight batches: one of them could still land under the old epoch.
    if (this.initializing || this.inFlightRequests > 0) return
    this.initializing = true
    identity.initialize().then(
      () => {
        this.initializing = false
        // Sequences restart at 0 under the new epoch; batches waiting for a retry get new ones.
        for (const queue of this.queues.values()) {
          const head = queue.batches[0]
          if (head !== undefined) head.baseSequence = null
        }
        this.wake()
      },
      (error: unknown) => {
        this.initializing = false
        const failure = error instanceof Error ? error : new Error(String(error))
        // Without a producer id nothing can be sent: fail what is queued; later sends try again.
        for (const queue of this.queues.values()) {
          if (queue.inFlight) continue
          for (const batch of queue.batches.splice(0)) this.settle(batch, failure)
        }
      },
    )
  }

  private sendTo(leader: number, queues: PartitionQueue[]): void {
    const identity = this.identity
    const producerId = identity?.producerId ?? NO_PRODUCER_ID
    const producerEpoch = identity?.producerEpoch ?? NO_PRODUCER_EPOCH
    const topics = new Map<string, Array<{ index: number; records: Buffer }>>()
    const sent: PartitionQueue[] = []
    let bytes = 0
    for (const queue of queues) {
      const batch = queue.batches[0]!
      if (identity !== null && batch.baseSequence === null) batch.baseSequence = identity.nextSequence(partitionKey(queue.topic, queue.partition), batch.count)
      let records: Buffer
      try {
        records = batch.encode(this.options.compression, producerId, producerEpoch, this.transactions !== null)
      } catch (error) {
        queue.batches.shift()
        this.settle(batch, error instanceof Error ? error : new Error(String(error)))
        continue
      }
      // Stay under maxRequestSize; what does not fit goes in the next request.
      if (sent.length > 0 && bytes + records.length > this.options.maxRequestSize) continue
      bytes += records.length
      batch.attempts++
      queue.inFlight = true
      sent.push(queue)
      let list = topics.get(queue.topic)
      if (list === undefined) topics.set(queue.topic, (list = []))
      list.push({ index: queue.partition, records })
    }
    if (sent.length === 0) return
    if (sent.length < queues.length) this.wake()
    this.inFlightRequests++
    const topicData = [...topics].map(([name, partitionData]) => ({ name, partitionData }))
    const acks = this.options.acks
    let request: Promise<ProduceResponse | undefined>
    try {
      request = this.cluster
        .connectionTo(leader)
        .request(Produce, { transactionalId: this.transactions?.transactionalId ?? null, acks, timeoutMs: this.options.requestTimeoutMs, topicData }, { noResponse: acks === 0 })
    } catch (error) {
      request = Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    request
      .then(
        (response) => this.onResponse(leader, sent, response),
        (error: unknown) => this.onRequestError(sent, error),
      )
      .finally(() => {
        this.inFlightRequests--
        for (const queue of sent) queue.inFlight = false
        this.wake()
      })
      .catch(() => undefined)
  }

  private onResponse(leader: number, sent: PartitionQueue[], response: ProduceResponse | undefined): void {
    const results = new Map<string, ProduceResponsePartitionProduceResponse>()
    for (const topic of response?.responses ?? []) {
      for (const p of topic.partitionResponses) results.set(partitionKey(topic.name, p.index), p)
    }
    for (const queue of sent) {
      const batch = queue.batches[0]!
      if (response === undefined) {
        this.complete(queue, batch, -1n, -1n)
        continue
      }
      const result = results.get(partitionKey(queue.topic, queue.partition))
      if (result === undefined) {
        this.retryLater(batch, kafkaError(KafkaErrorCode.UNKNOWN_SERVER_ERROR, { api: 'Produce', topic: queue.topic, partition: queue.partition, broker: leader, errorMessage: 'the response left out this partition' }))
        continue
      }
      this.onPartitionResult(leader, queue, batch, result)
    }
  }

  private onPartitionResult(leader: number, queue: PartitionQueue, batch: ProducerBatch, result: ProduceResponsePartitionProduceResponse): void {
    const code = result.errorCode
    // A duplicate means an earlier attempt was written: the retry did its job (KIP-98).
    if (code === 0 || code === KafkaErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
      this.complete(queue, batch, result.baseOffset, result.logAppendTimeMs)
      return
    }
    const error = kafkaError(code, {
      api: 'Produce',
      topic: queue.topic,
      partition: queue.partition,
      broker: leader,
      errorMessage: result.errorMessage ?? result.recordErrors[0]?.batchIndexErrorMessage ?? null,
    })
    if (STALE_LEADER_CODES.has(code)) this.cluster.leaderHint(queue.topic, queue.partition, result.currentLeader.leaderId, result.currentLeader.leaderEpoch)
    const identity = this.identity
    // A transactional producer fails the batch instead: its transaction must abort (transaction-errors.ts).
    if (identity !== null && this.transactions === null && (code === KafkaErrorCode.UNKNOWN_PRODUCER_ID || code === KafkaErrorCode.INVALID_PRODUCER_EPOCH)) {
      // The broker lost or outran this producer's state; the batch was not written. Bump, then resend.
      identity.bumpNeeded = true
      this.retryLater(batch, error)
      return
    }
    if (error.retriable) {
      this.retryLater(batch, error)
      return
    }
    this.failHead(queue, batch, error)
  }

  private onRequestError(sent: PartitionQueue[], error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error))
    if (isRetriableError(failure)) {
      this.cluster.refresh().catch(() => undefined)
      for (const queue of sent) this.retryLater(queue.batches[0]!, failure)
      return
    }
    for (const queue of sent) this.failHead(queue, queue.batches[0]!, failure)
  }

  private complete(queue: PartitionQueue, batch: ProducerBatch, baseOffset: bigint, logAppendTime: bigint): void {
    queue.batches.shift()
    this.release(batch)
    batch.succeed(baseOffset, logAppendTime)
  }

  private failHead(queue: PartitionQueue, batch: ProducerBatch, error: Error | KafkaError): void {
    queue.batches.shift()
    // The broker's next expected sequence now disagrees with ours; restart sequences under a new epoch.
    if (this.identity !== null && batch.baseSequence !== null) this.identity.bumpNeeded = true
    this.settle(batch, error)
  }

  private retryLater(batch: ProducerBatch, error: unknown): void {
    batch.lastError = error
    batch.retryAt = Date.now() + backoffDelay(batch.attempts, { initialMs: this.options.retryBackoffMs, maxMs: this.options.retryBackoffMaxMs })
  }

  private settle(batch: ProducerBatch, error: Error): void {
    this.release(batch)
    batch.fail(error)
    this.transactions?.onBatchFailed(error)
  }

  private release(batch: ProducerBatch): void {
    this.bufferedBytes -= batch.recordBytes
    this.admitWaiters()
  }

  private admitWaiters(): void {
    while (this.waiters.length > 0) {
      const next = this.waiters[0]!
      if (this.bufferedBytes + next.size > this.options.bufferMemory && this.bufferedBytes > 0) return
      this.waiters.shift()
      next.resolve()
    }
  }
}
