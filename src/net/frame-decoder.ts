/**
 * Splits a TCP byte stream into Kafka frames (int32 size, then that many bytes).
 *
 * A frame inside one chunk is handed out as a view of it; a large frame arriving in many chunks
 * costs one copy, made chunk by chunk into the frame's own buffer (see `push`).
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
  /** Received bytes not yet copied into a frame being assembled: size prefixes, frames inside a chunk, held frames. */
  private chunks: Buffer[] = []
  private buffered = 0
  /** Size of the frame being assembled, or -1 while its size prefix is incomplete. */
  private expected = -1
  /** The frame spanning several chunks, filled as they arrive; null when there is none. */
  private assembling: Buffer | null = null
  private filled = 0
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
    return this.buffered + this.filled
  }

  /**
   * Adds a chunk and returns every frame it completes (payload only, without the size prefix).
   * Throws `FrameTooLargeError` for a negative or oversized size; the stream is then unusable.
   *
   * A frame inside one chunk is a view of it. A frame spanning chunks gets its own buffer once its
   * size is known (and reserved), and each chunk is copied in as it arrives, while it is still in
   * the CPU's cache: joining a multi-megabyte fetch response's chunks once it was complete took a
   * fifth of a consumer's CPU.
   */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = []
    let rest = chunk
    const frame = this.assembling
    if (frame !== null) {
      const used = Math.min(rest.length, frame.length - this.filled)
      rest.copy(frame, this.filled, 0, used)
      this.filled += used
      if (this.filled < frame.length) return frames
      frames.push(this.completeFrame())
      rest = rest.subarray(used)
    }
    if (rest.length > 0) {
      this.chunks.push(rest)
      this.buffered += rest.length
    }
    this.held = false
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
      if (this.buffered < this.expected) {
        this.startAssembling()
        break
      }
      frames.push(this.take(this.expected))
      this.expected = -1
    }
    return frames
  }

  /**
   * Where the rest of the frame being assembled goes, for a socket that reads into buffers it is
   * handed (net's `onread`): the kernel then writes a large response straight into its frame, with
   * no chunk in between. Null when no frame spans chunks; report what was read with `received`.
   */
  readTarget(): Buffer | null {
    return this.assembling === null ? null : this.assembling.subarray(this.filled)
  }

  /** Counts `size` bytes written into the last `readTarget()`; returns the frame if they complete it. */
  received(size: number): Buffer | null {
    this.filled += size
    return this.filled < this.assembling!.length ? null : this.completeFrame()
  }

  /** Hands out the assembled frame, now full, and waits for the next size prefix. */
  private completeFrame(): Buffer {
    const frame = this.assembling!
    this.assembling = null
    this.filled = 0
    this.expected = -1
    return frame
  }

  /** Gives the incomplete frame its buffer and moves what has arrived of it there. */
  private startAssembling(): void {
    const frame = Buffer.allocUnsafe(this.expected)
    let filled = 0
    for (const chunk of this.chunks) {
      chunk.copy(frame, filled)
      filled += chunk.length
    }
    this.assembling = frame
    this.filled = filled
    this.chunks = []
    this.buffered = 0
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
