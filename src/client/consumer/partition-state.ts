/**
 * One assigned partition as the fetcher keeps it: where fetching and delivery stand, whether it is
 * paused, in flight or failed, and its buffer of fetched records waiting to be handed out.
 */
import type { AbortedTransaction, ConsumerRecord } from './records.js'

/** Records ready to hand out. */
export interface BufferedChunk {
  readonly records: ConsumerRecord[]
  readonly bytes: number
  /** The partition's position once these records are consumed. */
  readonly nextOffset: bigint
  readonly generation: number
  readonly highWatermark: bigint
}

/**
 * A partition's fetched bytes, decoded only when taken (`Fetcher.take`). Records made just before
 * the application gets them die young: decoding a whole response at once kept every record of it
 * alive through the collector's young generation, which dominated consuming many partitions.
 */
export interface FetchedBytes {
  readonly fetched: Buffer
  readonly aborted: readonly AbortedTransaction[] | null
  /** Where the bytes begin: the partition goes back there if they do not decode. */
  readonly offset: bigint
  /** The partition's last fetched epoch before these bytes, restored with the offset. */
  readonly epochBefore: number
  readonly bytes: number
  readonly nextOffset: bigint
  readonly generation: number
  readonly highWatermark: bigint
}

export class PartitionState {
  /** Null while the position must be looked up with ListOffsets. */
  fetchOffset: bigint | null = null
  /** The next offset to hand to the application. */
  position: bigint | null = null
  resetTo: 'earliest' | 'latest' | null = null
  paused = false
  /** Paused for hand-out only: fetching goes on until the buffer is full. */
  prefetchWhilePaused = false
  inFlight = false
  generation = 0
  retryAt = 0
  readonly buffer: Array<BufferedChunk | FetchedBytes> = []
  bufferedBytes = 0
  highWatermark = -1n
  /** Leader epoch of the last batch fetched (KIP-320); -1 when unknown, as after a seek. */
  lastFetchedEpoch = -1
  /** Per-partition fetch size; raised when a single batch is larger (KIP-74 keeps this rare). */
  fetchBytes: number
  error: Error | null = null

  constructor(
    readonly topic: string,
    readonly partition: number,
    fetchBytes: number,
  ) {
    this.fetchBytes = fetchBytes
  }

  /** Forgets buffered records and in-flight responses, e.g. on seek. */
  reset(): void {
    this.generation++
    this.buffer.length = 0
    this.bufferedBytes = 0
    this.error = null
  }
}
