/**
 * The idempotent producer's identity and sequence numbers (KIP-98). The broker keeps, per producer
 * id and partition, the sequence it expects next; a retried batch with a sequence it already has
 * is acknowledged without being written twice, and a gap is refused with OUT_OF_ORDER_SEQUENCE.
 *
 * When a batch's fate leaves the sequence in doubt (it failed for good, or the broker lost the
 * producer's state), the epoch is bumped (KIP-360: InitProducerId with the current id and epoch)
 * and every partition starts again at sequence 0. The bump waits until no batch is in flight, so no
 * batch of the old epoch can still land after the sequences restart.
 */
import { KafkaErrorCode, kafkaError } from '../../protocol/errors/kafka-errors.js'
import { InitProducerId } from '../../protocol/generated/index.js'
import { NO_PRODUCER_EPOCH, NO_PRODUCER_ID } from '../../protocol/records/index.js'
import type { Cluster } from '../cluster.js'
import { withRetries } from '../retry.js'

const MAX_EPOCH = 32767
const MAX_SEQUENCE = 2 ** 31 - 1

export class ProducerIdentity {
  producerId: bigint = NO_PRODUCER_ID
  producerEpoch: number = NO_PRODUCER_EPOCH
  /** A bump was asked for; the sender stops sending until it has happened. */
  bumpNeeded = false
  private readonly sequences = new Map<string, number>()
  private pending: Promise<void> | null = null

  constructor(private readonly cluster: Cluster) {}

  get ready(): boolean {
    return this.producerId >= 0n && !this.bumpNeeded
  }

  /** Gets a producer id, or bumps the epoch when one is needed. Concurrent calls share the request. */
  initialize(): Promise<void> {
    this.pending ??= this.requestId().finally(() => {
      this.pending = null
    })
    return this.pending
  }

  /**
   * Takes a producer id and epoch obtained elsewhere (a transactional producer asks the transaction
   * coordinator); every partition's sequence restarts at 0 under them.
   */
  adopt(producerId: bigint, producerEpoch: number): void {
    this.producerId = producerId
    this.producerEpoch = producerEpoch
    this.sequences.clear()
    this.bumpNeeded = false
  }

  /** Reserves `count` sequence numbers on a partition and returns the first. */
  nextSequence(key: string, count: number): number {
    const first = this.sequences.get(key) ?? 0
    // Sequences wrap at int32 max, as the broker expects (KIP-98).
    this.sequences.set(key, (first + count) % (MAX_SEQUENCE + 1))
    return first
  }

  private async requestId(): Promise<void> {
    const config = this.cluster.config
    const bumping = this.producerId >= 0n
    const response = await withRetries(
      async () => {
        const result = await this.cluster.requestAnyBroker(InitProducerId, (version) => ({
          transactionalId: null,
          transactionTimeoutMs: 60_000,
          // KIP-360: v3+ may keep the producer id and take the next epoch; earlier versions get a new id.
          ...(bumping && version >= 3 && this.producerEpoch < MAX_EPOCH ? { producerId: this.producerId, producerEpoch: this.producerEpoch } : {}),
        }))
        if (result.errorCode !== 0) throw kafkaError(result.errorCode, { api: 'InitProducerId' })
        return result
      },
      { deadline: Date.now() + config.requestTimeoutMs, backoffMs: config.retryBackoffMs, backoffMaxMs: config.retryBackoffMaxMs, stopped: () => this.cluster.closed },
    )
    if (response.producerId < 0n) throw kafkaError(KafkaErrorCode.UNKNOWN_SERVER_ERROR, { api: 'InitProducerId', errorMessage: 'broker returned no producer id' })
    this.producerId = response.producerId
    this.producerEpoch = response.producerEpoch
    this.sequences.clear()
    this.bumpNeeded = false
  }
}
