/**
 * Splits a TCP byte stream into Kafka frames (int32 size, then that many bytes).
 *
 * Chunks are kept in a list and joined only when a frame is complete, so a large frame arriving
 * in many small chunks costs one copy, not one per chunk.
 */
import { BatonError } from '../protocol/errors/base.js'

/** Kafka's default for socket.request.max.bytes: 100 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024

export class FrameTooLargeError extends BatonError {
  readonly size: number
  readonly limit: number

  constructor(size: number, limit: number) {
    super(
      'FRAME_TOO_LARGE',
      size < 0
        ? `frame announces a negative size (${size}); the peer is not speaking the Kafka protocol or the stream is corrupt`
        : `frame of ${size} bytes exceeds the limit of ${limit} bytes; raise the max frame size if this peer is trusted`,
    )
    this.size = size
    this.limit = limit
  }
}

/** Asked for a frame's size before its body is read; false holds the frame back until `push` is called again. */
export type FrameReservation = (size: number) => boolean

export class FrameDecoder {
  private chunks: Buffer[] = []
  private buffered = 0
  /** Size of the frame being assembled, or -1 while its size prefix is incomplete. */
  private expected = -1
  private readonly maxFrameBytes: number
  private readonly reserve: FrameReservation | undefined
  private held = false

  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES, reserve?: FrameReservation) {
    this.maxFrameBytes = maxFrameBytes
    this.reserve = reserve
  }

  /** True when the last `push` stopped at a frame whose reservation was refused; push again (an empty chunk will do) to retry. */
  get waitingForReservation(): boolean {
    return this.held
  }

  /** Bytes received that do not yet form a whole frame. */
  get pendingBytes(): number {
    return this.buffered
  }

  /**
   * Adds a chunk and returns every frame it completes (payload only, without the size prefix).
   * Throws `FrameTooLargeError` for a negative or oversized size; the stream is then unusable.
   */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk)
      this.buffered += chunk.length
    }
    this.held = false
    const frames: Buffer[] = []
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < 4) break
        const size = this.peekSize()
        if (size < 0 || size > this.maxFrameBytes) throw new FrameTooLargeError(size, this.maxFrameBytes)
        if (this.reserve !== undefined && !this.reserve(size)) {
          this.held = true
          break
        }
        this.expected = size
        this.take(4)
      }
      if (this.buffered < this.expected) break
      frames.push(this.take(this.expected))
      this.expected = -1
    }
    return frames
  }

  private peekSize(): number {
    const first = this.chunks[0]!
    if (first.length >= 4) return first.readInt32BE(0)
    return this.joinFront(4).readInt32BE(0)
  }

  /** Makes the first chunk hold at least `size` bytes and returns it. */
  private joinFront(size: number): Buffer {
    let total = 0
    let count = 0
    while (total < size) total += this.chunks[count++]!.length
    const joined = Buffer.concat(this.chunks.slice(0, count), total)
    this.chunks.splice(0, count, joined)
    return joined
  }

  private take(size: number): Buffer {
    if (size === 0) return Buffer.alloc(0)
    const front = this.joinFront(size)
    const taken = front.subarray(0, size)
    if (front.length === size) this.chunks.shift()
    else this.chunks[0] = front.subarray(size)
    this.buffered -= size
    return taken
  }
}
