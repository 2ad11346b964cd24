/**
 * Moves batches from the accumulator to partition leaders. One Produce request per leader carries
 * the next ready batch of each of its partitions; requests to different leaders, and up to
 * `maxInFlightPerPartition` requests per partition (5 with idempotence, Kafka's limit), overlap.
 *
 * Ordering invariant: a partition's batches go on the wire in order, each with its sequence number
 * assigned at first send, so the broker writes them in order or refuses the rest with
 * OUT_OF_ORDER_SEQUENCE_NUMBER. When a batch comes back with an error, the partition sends nothing
 * more until every batch it has on the wire has come back ("rewinding"), then sends again from its
 * oldest unacknowledged batch, with the same sequence numbers: the broker recognises any batch it
 * already wrote (it keeps the last five per producer) and answers it as a duplicate.
 *
 * Sequences restart only through an epoch bump (UNKNOWN_PRODUCER_ID, INVALID_PRODUCER_EPOCH, an
 * OUT_OF_ORDER_SEQUENCE_NUMBER on the oldest batch, or a batch failed for good). The bump waits
 * until nothing is on the wire and no batch is in doubt: a batch whose request got no answer is
 * first resent under the old epoch, since under a new one the broker could not recognise it.
 * Without idempotence a partition keeps one batch on the wire, so a retry cannot reorder records.
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
import { ProducerBatch, type PartitionQueue, type RecordMetadata, type SendGroup } from './batch.js'
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

/** Errors after which the batch may still have been written (appended, replication unconfirmed). */
const IN_DOUBT_CODES: ReadonlySet<number> = new Set([
  KafkaErrorCode.REQUEST_TIMED_OUT,
  KafkaErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  KafkaErrorCode.NETWORK_EXCEPTION,
  KafkaErrorCode.UNKNOWN_SERVER_ERROR,
])

/**
 * Batches this large go on the wire from their own buffers, not copied into the request (a batch
 * is never changed once encoded); smaller ones are copied, as a vectored write of many small
 * pieces costs more than the copy.
 */
const SHARE_BATCHES_FROM = 8 * 1024
/** Reusable batch buffers kept at most (each batchSize + SPARE_SLACK bytes). */
const MAX_SPARE_BUFFERS = 16
/** Room above batchSize in a reusable buffer: a batch may pass batchSize by its header and estimate. */
const SPARE_SLACK = 4096
/** Kafka's limit for an idempotent producer: the broker remembers the last five batches per partition. */
const MAX_IN_FLIGHT_IDEMPOTENT = 5
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
  /** Every partition's queue, in the order they were first written to. */
  private readonly queues: PartitionQueue[] = []
  /** The queues by topic, then by partition number: no string key to build per record. */
  private readonly byTopic = new Map<string, Array<PartitionQueue | undefined>>()
  private bufferedBytes = 0
  private inFlightRequests = 0
  private flushing = 0
  private scheduled = false
  private timer: NodeJS.Timeout | undefined
  private timerAt = Infinity
  private waiters: SpaceWaiter[] = []
  /** Buffers of acknowledged full-size batches, for the next ones (see `spare`). */
  private readonly spares: Buffer[] = []
  private initializing = false
  private stopped = false

  constructor(
    private readonly cluster: Cluster,
    private readonly options: SenderOptions,
    private readonly identity: ProducerIdentity | null,
    private readonly transactions: SenderTransactionHooks | null = null,
  ) {}

  /**
   * A buffer for a batch of about `size` bytes, when it is a large one: an acknowledged batch's, or
   * a new one big enough for any batch of batchSize. Each large batch would otherwise be a fresh
   * allocation outside the heap, and those make V8 run full garbage collections.
   */
  private readonly spare = (size: number): Buffer | undefined => {
    const capacity = this.options.batchSize + SPARE_SLACK
    if (size < this.options.batchSize / 2 || size > capacity) return undefined
    return this.spares.pop() ?? Buffer.allocUnsafeSlow(capacity)
  }

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
  append(topic: string, partition: number, record: RecordInput, size: number): Promise<RecordMetadata> {
    if (this.stopped) {
      this.unreserve(size)
      return Promise.reject(new ClientClosedError('The producer'))
    }
    const batch = this.openBatch(topic, partition, size)
    const promise = new Promise<RecordMetadata>((resolve, reject) => batch.add(record, size, { resolve, reject }))
    this.batchChanged(batch)
    return promise
  }

  /** Adds one record of a sendBatch() call: its settlement goes to `slot` of the group, no promise of its own. */
  appendToGroup(topic: string, partition: number, record: RecordInput, size: number, group: SendGroup, slot: number): void {
    if (this.stopped) {
      this.unreserve(size)
      group.fail(new ClientClosedError('The producer'))
      return
    }
    const batch = this.openBatch(topic, partition, size)
    batch.add(record, size, group, slot)
    // Linger gathers records from separate send() calls; a sendBatch() call has brought its own, so
    // its batches go out at the next drain (after the call returns, with whatever else came in that turn).
    batch.skipLinger = true
    this.wake()
  }

  private openBatch(topic: string, partition: number, size: number): ProducerBatch {
    let partitions = this.byTopic.get(topic)
    if (partitions === undefined) this.byTopic.set(topic, (partitions = []))
    let queue = partitions[partition]
    if (queue === undefined) {
      queue = { topic, partition, key: partitionKey(topic, partition), batches: [], inFlight: 0, rewinding: false }
      partitions[partition] = queue
      this.queues.push(queue)
    }
    let batch = queue.batches.at(-1)
    // A batch that was sent once is sealed: its bytes and sequence numbers are fixed.
    if (batch === undefined || batch.attempts > 0 || (batch.count > 0 && batch.sizeBytes + size > this.options.batchSize)) {
      batch = new ProducerBatch(topic, partition, Date.now())
      queue.batches.push(batch)
    }
    return batch
  }

  private batchChanged(batch: ProducerBatch): void {
    if (batch.sizeBytes >= this.options.batchSize || this.options.lingerMs === 0) this.wake()
    else this.wakeAt(batch.createdAt + this.options.lingerMs)
  }

  /** Sends every batch now, ignoring linger, and resolves when all batches present have settled. */
  async flush(): Promise<void> {
    const batches = this.queues.flatMap((q) => q.batches)
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
    for (const queue of this.queues) {
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
    for (const queue of this.queues) {
      const undrained = queue.batches.splice(queue.inFlight)
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

  private get maxInFlightPerPartition(): number {
    return this.identity === null ? 1 : MAX_IN_FLIGHT_IDEMPOTENT
  }

  private drain(): void {
    this.scheduled = false
    if (this.stopped) return
    const identity = this.identity
    // Before a bump, only batches in doubt go out (under the old epoch, to learn their fate).
    const onlyInDoubt = identity !== null && !identity.ready
    if (onlyInDoubt && (identity.producerId < 0n || !this.anyInDoubt())) {
      // A transactional producer's identity comes from its transaction coordinator, never from here.
      if (this.transactions === null) this.prepareIdentity(identity)
      return
    }
    const now = Date.now()
    let nextWake = Infinity
    // One request per leader carries one batch per partition; a partition with more ready batches
    // (and room in its window) gets them into the next round's requests.
    for (let round = 0; round < this.maxInFlightPerPartition; round++) {
      const byLeader = new Map<number, Array<[PartitionQueue, ProducerBatch]>>()
      for (const queue of this.queues) {
        const next = this.nextToSend(queue, now, onlyInDoubt)
        if (typeof next === 'number') {
          nextWake = Math.min(nextWake, next)
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
        list.push([queue, next])
      }
      if (byLeader.size === 0) break
      for (const [leader, ready] of byLeader) this.sendTo(leader, ready)
    }
    if (nextWake !== Infinity) this.wakeAt(nextWake)
  }

  /** The partition's next batch to put on the wire, or when to look again (Infinity: nothing to do). */
  private nextToSend(queue: PartitionQueue, now: number, onlyInDoubt: boolean): ProducerBatch | number {
    if (queue.inFlight >= this.maxInFlightPerPartition) return Infinity
    if (queue.rewinding) {
      if (queue.inFlight > 0) return Infinity
      queue.rewinding = false
    }
    if (queue.inFlight === 0) this.expire(queue, now)
    const batch = queue.batches[queue.inFlight]
    if (batch === undefined) return Infinity
    if (this.transactions !== null && !this.transactions.canSend(queue.topic, queue.partition)) return Infinity
    if (onlyInDoubt && !batch.inDoubt) return Infinity
    // A batch being resent waits for the ones before it to be answered, so that it cannot overtake them.
    if (batch.attempts > 0 && queue.inFlight > 0) return Infinity
    const ready =
      batch.attempts > 0 || batch.skipLinger || queue.batches.length > queue.inFlight + 1 || batch.sizeBytes >= this.options.batchSize || now - batch.createdAt >= this.options.lingerMs || this.flushing > 0
    if (!ready) return batch.createdAt + this.options.lingerMs
    if (batch.retryAt > now) return batch.retryAt
    return batch
  }

  /**
   * Fails the oldest batches once their delivery timeout has passed (only with nothing on the wire).
   * Batches in doubt share a fate (any of them may have been written), so they expire together.
   */
  private expire(queue: PartitionQueue, now: number): void {
    let head = queue.batches[0]
    while (head !== undefined && now - head.createdAt >= this.options.deliveryTimeoutMs) {
      const expired = head.inDoubt ? queue.batches.filter((b) => b.inDoubt) : [head]
      for (const batch of expired) {
        queue.batches.splice(queue.batches.indexOf(batch), 1)
        if (this.identity !== null && batch.baseSequence !== null) this.identity.bumpNeeded = true
        this.settle(batch, new DeliveryTimeoutError(batch.topic, batch.partition, this.options.deliveryTimeoutMs, batch.lastError))
      }
      head = queue.batches[0]
    }
  }

  private anyInDoubt(): boolean {
    for (const queue of this.queues) {
      if (queue.inFlight > 0) return true
      for (const batch of queue.batches) if (batch.inDoubt) return true
    }
    return false
  }

  private prepareIdentity(identity: ProducerIdentity): void {
    // A bump must wait for in-flight batches: one of them could still land under the old epoch.
    if (this.initializing || this.inFlightRequests > 0) return
    this.initializing = true
    identity.initialize().then(
      () => {
        this.initializing = false
        // Sequences restart at 0 under the new epoch; every batch not acknowledged gets new ones, in order.
        for (const queue of this.queues) {
          for (const batch of queue.batches) batch.baseSequence = null
        }
        this.wake()
      },
      (error: unknown) => {
        this.initializing = false
        const failure = error instanceof Error ? error : new Error(String(error))
        // Without a producer id nothing can be sent: fail what is queued; later sends try again.
        for (const queue of this.queues) {
          if (queue.inFlight > 0) continue
          for (const batch of queue.batches.splice(0)) this.settle(batch, failure)
        }
      },
    )
  }

  private sendTo(leader: number, ready: Array<[PartitionQueue, ProducerBatch]>): void {
    const identity = this.identity
    const producerId = identity?.producerId ?? NO_PRODUCER_ID
    const producerEpoch = identity?.producerEpoch ?? NO_PRODUCER_EPOCH
    const topics = new Map<string, Array<{ index: number; records: Buffer }>>()
    const sent: Array<[PartitionQueue, ProducerBatch]> = []
    let bytes = 0
    let copied = 0
    for (const entry of ready) {
      const [queue, batch] = entry
      if (identity !== null && batch.baseSequence === null) batch.baseSequence = identity.nextSequence(queue.key, batch.count)
      let records: Buffer
      try {
        records = batch.encode(this.options.compression, producerId, producerEpoch, this.transactions !== null, this.spare)
      } catch (error) {
        queue.batches.splice(queue.inFlight, 1)
        this.failBatch(batch, error instanceof Error ? error : new Error(String(error)))
        continue
      }
      // Stay under maxRequestSize; what does not fit goes in the next request.
      if (sent.length > 0 && bytes + records.length > this.options.maxRequestSize) {
        this.wake()
        continue
      }
      bytes += records.length
      if (records.length < SHARE_BATCHES_FROM) copied += records.length
      batch.attempts++
      batch.onWire = true
      queue.inFlight++
      sent.push(entry)
      let list = topics.get(queue.topic)
      if (list === undefined) topics.set(queue.topic, (list = []))
      list.push({ index: queue.partition, records })
    }
    if (sent.length === 0) return
    this.inFlightRequests++
    const topicData = [...topics].map(([name, partitionData]) => ({ name, partitionData }))
    const acks = this.options.acks
    let request: Promise<ProduceResponse | undefined>
    try {
      request = this.cluster
        .connectionTo(leader)
        .request(Produce, { transactionalId: this.transactions?.transactionalId ?? null, acks, timeoutMs: this.options.requestTimeoutMs, topicData }, { noResponse: acks === 0, sizeHint: copied + 64 * sent.length, shareBytesFrom: SHARE_BATCHES_FROM })
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
        this.wake()
      })
      .catch(() => undefined)
  }

  private onResponse(leader: number, sent: Array<[PartitionQueue, ProducerBatch]>, response: ProduceResponse | undefined): void {
    // Per topic, the answers by partition number (a request carries up to one batch per partition).
    const results = new Map<string, ProduceResponsePartitionProduceResponse[]>()
    if (response !== undefined) {
      for (const topic of response.responses) {
        let byPartition = results.get(topic.name)
        if (byPartition === undefined) results.set(topic.name, (byPartition = []))
        for (const p of topic.partitionResponses) if (p.index >= 0) byPartition[p.index] = p
      }
    }
    for (const [queue, batch] of sent) {
      queue.inFlight--
      batch.onWire = false
      if (response === undefined) {
        this.complete(queue, batch, -1n, -1n)
        continue
      }
      const result = results.get(queue.topic)?.[queue.partition]
      if (result === undefined) {
        // No answer for this partition: as good as no answer at all.
        batch.inDoubt = true
        this.retryLater(queue, batch, kafkaError(KafkaErrorCode.UNKNOWN_SERVER_ERROR, { api: 'Produce', topic: queue.topic, partition: queue.partition, broker: leader, errorMessage: 'the response left out this partition' }))
        continue
      }
      this.onPartitionResult(leader, queue, batch, result)
    }
  }

  private onPartitionResult(leader: number, queue: PartitionQueue, batch: ProducerBatch, result: ProduceResponsePartitionProduceResponse): void {
    const code = result.errorCode
    // A duplicate means an earlier attempt was written: the retry did its job (KIP-98).
    if (code === 0 || code === KafkaErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
      batch.inDoubt = false
      // Answered, so the request that carried the batch was written whole: its buffer can take another.
      const buffer = batch.takeSpareBuffer()
      if (buffer !== null && this.spares.length < MAX_SPARE_BUFFERS) this.spares.push(buffer)
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
    const lostState = code === KafkaErrorCode.UNKNOWN_PRODUCER_ID || (code === KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && queue.batches[0] === batch)
    // A batch in doubt can be resent only as it is, under the same producer id, epoch and sequence
    // range: then the broker recognises it if an earlier attempt was written. After a bump, or split
    // into halves with other ranges, it could be written twice.
    const cannotResendAsIs =
      lostState || code === KafkaErrorCode.INVALID_PRODUCER_EPOCH || code === KafkaErrorCode.MESSAGE_TOO_LARGE || code === KafkaErrorCode.RECORD_LIST_TOO_LARGE
    if (this.identity !== null && batch.inDoubt && cannotResendAsIs) {
      // The broker no longer knows where this producer's sequence stands (or refused this attempt in a
      // way a resend as it is cannot get past), and an earlier attempt may have been written. Its fate is unknown.
      this.failHead(queue, batch, error)
      return
    }
    // An error answers this attempt only: an earlier attempt whose answer was lost may still have
    // been written, and only a success or DUPLICATE_SEQUENCE_NUMBER settles that. So the doubt stays.
    batch.inDoubt = batch.inDoubt || (IN_DOUBT_CODES.has(code) && this.mayBeWritten(queue, batch))
    if (!batch.inDoubt) {
      // Not written, so neither is any later batch of the partition: the broker writes sequences without gaps.
      for (let i = queue.batches.indexOf(batch) + 1; i < queue.batches.length; i++) queue.batches[i]!.inDoubt = false
    }
    if (STALE_LEADER_CODES.has(code)) this.cluster.leaderHint(queue.topic, queue.partition, result.currentLeader.leaderId, result.currentLeader.leaderEpoch)
    if ((code === KafkaErrorCode.MESSAGE_TOO_LARGE || code === KafkaErrorCode.RECORD_LIST_TOO_LARGE) && batch.count > 1) {
      // Not written; two halves in its place keep its sequence range, and go out in order.
      const at = queue.batches.indexOf(batch)
      if (at >= 0) queue.batches.splice(at, 1, ...batch.split())
      queue.rewinding = true
      return
    }
    const identity = this.identity
    if (identity !== null && code === KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER && queue.batches[0] !== batch) {
      // An earlier batch of the partition was not written (yet): this one waits to be resent after it.
      this.retryLater(queue, batch, error)
      return
    }
    // A transactional producer fails the batch instead: its transaction must abort (transaction-errors.ts).
    if (identity !== null && this.transactions === null && (code === KafkaErrorCode.UNKNOWN_PRODUCER_ID || code === KafkaErrorCode.INVALID_PRODUCER_EPOCH || code === KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)) {
      // The broker lost or outran this producer's state; the batch was not written. Bump, then resend.
      identity.bumpNeeded = true
      this.retryLater(queue, batch, error)
      return
    }
    if (error.retriable) {
      this.retryLater(queue, batch, error)
      return
    }
    this.failHead(queue, batch, error)
  }

  private onRequestError(sent: Array<[PartitionQueue, ProducerBatch]>, error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error))
    const retriable = isRetriableError(failure)
    if (retriable) this.cluster.refresh().catch(() => undefined)
    for (const [queue, batch] of sent) {
      queue.inFlight--
      batch.onWire = false
      // The request may have reached the broker: the batch may be written (and stays in doubt if an earlier attempt may be).
      batch.inDoubt = batch.inDoubt || this.mayBeWritten(queue, batch)
      if (retriable) this.retryLater(queue, batch, failure)
      else this.failHead(queue, batch, failure)
    }
  }

  /**
   * For a batch whose answer leaves its fate open: whether it may be written. Not when an earlier
   * batch of the partition is known not to be, since the broker writes sequences without gaps.
   */
  private mayBeWritten(queue: PartitionQueue, batch: ProducerBatch): boolean {
    const at = queue.batches.indexOf(batch)
    const earlier = at > 0 ? queue.batches[at - 1] : undefined
    return earlier === undefined || earlier.inDoubt || earlier.onWire
  }

  private complete(queue: PartitionQueue, batch: ProducerBatch, baseOffset: bigint, logAppendTime: bigint): void {
    const at = queue.batches.indexOf(batch)
    if (at >= 0) queue.batches.splice(at, 1)
    this.release(batch)
    batch.succeed(baseOffset, logAppendTime)
  }

  private failHead(queue: PartitionQueue, batch: ProducerBatch, error: Error | KafkaError): void {
    const at = queue.batches.indexOf(batch)
    if (at >= 0) queue.batches.splice(at, 1)
    queue.rewinding = true
    this.failBatch(batch, error)
  }

  private failBatch(batch: ProducerBatch, error: Error): void {
    // The broker's next expected sequence now disagrees with ours; restart sequences under a new epoch.
    if (this.identity !== null && batch.baseSequence !== null) this.identity.bumpNeeded = true
    this.settle(batch, error)
  }

  private retryLater(queue: PartitionQueue, batch: ProducerBatch, error: unknown): void {
    queue.rewinding = true
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
