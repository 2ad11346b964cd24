import { EncodeError } from '../errors/base.js'

const INITIAL_CAPACITY = 256
const INT32_MIN = -0x80000000
const INT32_MAX = 0x7fffffff

/**
 * A growable big-endian byte writer for Kafka's primitive types.
 *
 * One buffer is grown by doubling and sliced once at the end, so encoding a message costs
 * O(log n) allocations rather than one per field. Positions can be reserved and patched later,
 * which is how length prefixes and the record batch CRC are filled in after the body is known.
 */
export class Writer {
  private buffer: Buffer
  private position = 0
  /** Byte arrays at least this long that `raw` is given are kept by reference, not copied (0: never). */
  private readonly shareFrom: number
  /** The arrays kept by reference, each with the position in `buffer` it comes before. */
  private shared: Array<{ at: number; bytes: Uint8Array }> | null = null
  private sharedBytes = 0

  /**
   * @param shareFrom byte arrays of at least this many bytes are not copied but kept by reference
   * until `finishChunks()`, which returns the frame in pieces for a vectored socket write. The
   * caller promises not to change them until the pieces are written. 0 (the default): copy all.
   */
  constructor(initialCapacity = INITIAL_CAPACITY, shareFrom = 0) {
    this.buffer = Buffer.allocUnsafe(Math.max(16, initialCapacity))
    this.shareFrom = shareFrom
  }

  /** A writer over a buffer the caller provides (and will not use while this writer does); it grows into a new one if outgrown. */
  static over(buffer: Buffer): Writer {
    const writer = new Writer(16)
    writer.buffer = buffer
    return writer
  }

  /** Bytes written so far, including those kept by reference. */
  get length(): number {
    return this.position + this.sharedBytes
  }

  /** The bytes written so far; a view, not a copy, so write nothing after taking it. */
  finish(): Buffer {
    return this.shared === null ? this.buffer.subarray(0, this.position) : Buffer.concat(this.finishChunks())
  }

  /**
   * The bytes written so far as consecutive pieces: views of this writer's buffer between the
   * arrays kept by reference (one piece when nothing was). Write nothing after taking them.
   */
  finishChunks(): Buffer[] {
    if (this.shared === null) return [this.buffer.subarray(0, this.position)]
    const chunks: Buffer[] = []
    let from = 0
    for (const { at, bytes } of this.shared) {
      if (at > from) chunks.push(this.buffer.subarray(from, at))
      chunks.push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
      from = at
    }
    if (this.position > from) chunks.push(this.buffer.subarray(from, this.position))
    return chunks
  }

  /** Bytes written since `start`: a view into the buffer, valid until the next write (and only while nothing is shared). */
  viewFrom(start: number): Buffer {
    return this.buffer.subarray(start, this.position)
  }

  private ensure(extra: number): void {
    const needed = this.position + extra
    if (needed <= this.buffer.length) return
    let capacity = this.buffer.length * 2
    while (capacity < needed) capacity *= 2
    const grown = Buffer.allocUnsafe(capacity)
    this.buffer.copy(grown, 0, 0, this.position)
    this.buffer = grown
  }

  /** Skips `size` bytes to be filled in later with one of the `set*At` methods; returns their offset. */
  reserve(size: number): number {
    this.ensure(size)
    const at = this.position
    this.position += size
    return at
  }

  setInt32At(offset: number, value: number): void {
    this.buffer.writeInt32BE(value, offset)
  }

  setUInt32At(offset: number, value: number): void {
    this.buffer.writeUInt32BE(value, offset)
  }

  bool(value: boolean): this {
    return this.int8(value ? 1 : 0)
  }

  int8(value: number): this {
    this.ensure(1)
    this.buffer.writeInt8(value, this.position)
    this.position += 1
    return this
  }

  uint8(value: number): this {
    this.ensure(1)
    this.buffer[this.position++] = value & 0xff
    return this
  }

  int16(value: number): this {
    this.ensure(2)
    this.buffer.writeInt16BE(value, this.position)
    this.position += 2
    return this
  }

  uint16(value: number): this {
    this.ensure(2)
    this.buffer.writeUInt16BE(value, this.position)
    this.position += 2
    return this
  }

  int32(value: number): this {
    this.ensure(4)
    this.buffer.writeInt32BE(value, this.position)
    this.position += 4
    return this
  }

  uint32(value: number): this {
    this.ensure(4)
    this.buffer.writeUInt32BE(value, this.position)
    this.position += 4
    return this
  }

  int64(value: bigint): this {
    this.ensure(8)
    this.buffer.writeBigInt64BE(value, this.position)
    this.position += 8
    return this
  }

  float64(value: number): this {
    this.ensure(8)
    this.buffer.writeDoubleBE(value, this.position)
    this.position += 8
    return this
  }

  /** Unsigned LEB128, at most 5 bytes: the lengths and tags of flexible versions. */
  uvarint(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new EncodeError(`unsigned varint out of range: ${value}`)
    }
    this.ensure(5)
    let v = value
    while (v > 0x7f) {
      this.buffer[this.position++] = (v & 0x7f) | 0x80
      v = Math.floor(v / 128)
    }
    this.buffer[this.position++] = v
    return this
  }

  /** Zig-zag signed varint of 32 bits: record lengths, deltas and header counts. */
  varint(value: number): this {
    if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
      throw new EncodeError(`varint out of int32 range: ${value}`)
    }
    return this.uvarint(((value << 1) ^ (value >> 31)) >>> 0)
  }

  /** Zig-zag signed varint of 64 bits (record timestamp and offset deltas). */
  varlong(value: bigint): this {
    let v = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n))
    this.ensure(10)
    while (v > 0x7fn) {
      this.buffer[this.position++] = Number(v & 0x7fn) | 0x80
      v >>= 7n
    }
    this.buffer[this.position++] = Number(v)
    return this
  }

  /**
   * The same zig-zag varlong for a value known to be a safe integer, without bigint arithmetic.
   * Record timestamps and deltas are almost always in this range; this keeps record encoding fast.
   */
  varlongNumber(value: number): this {
    if (value >= INT32_MIN && value <= INT32_MAX) return this.varint(value)
    return this.varlong(BigInt(value))
  }

  uuid(value: Uint8Array): this {
    if (value.length !== 16) throw new EncodeError(`a UUID is 16 bytes, got ${value.length}`)
    return this.raw(value)
  }

  raw(bytes: Uint8Array): this {
    if (this.shareFrom > 0 && bytes.length >= this.shareFrom) {
      this.shared ??= []
      this.shared.push({ at: this.position, bytes })
      this.sharedBytes += bytes.length
      return this
    }
    this.ensure(bytes.length)
    this.buffer.set(bytes, this.position)
    this.position += bytes.length
    return this
  }

  /** The UTF-8 bytes of `value`, whose length the caller measured as `size`; no length prefix. */
  utf8(value: string, size: number): this {
    this.ensure(size)
    this.position += this.buffer.write(value, this.position, size, 'utf8')
    return this
  }

  /** int16 length, then UTF-8 bytes. */
  string(value: string): this {
    const size = Buffer.byteLength(value, 'utf8')
    if (size > 0x7fff) throw new EncodeError(`string of ${size} bytes exceeds the int16 length prefix`)
    this.int16(size)
    this.ensure(size)
    this.position += this.buffer.write(value, this.position, size, 'utf8')
    return this
  }

  nullableString(value: string | null): this {
    if (value === null) return this.int16(-1)
    return this.string(value)
  }

  /** Unsigned varint of length + 1, then UTF-8 bytes. */
  compactString(value: string): this {
    const size = Buffer.byteLength(value, 'utf8')
    this.uvarint(size + 1)
    this.ensure(size)
    this.position += this.buffer.write(value, this.position, size, 'utf8')
    return this
  }

  compactNullableString(value: string | null): this {
    if (value === null) return this.uvarint(0)
    return this.compactString(value)
  }

  bytes(value: Uint8Array): this {
    this.int32(value.length)
    return this.raw(value)
  }

  nullableBytes(value: Uint8Array | null): this {
    if (value === null) return this.int32(-1)
    return this.bytes(value)
  }

  compactBytes(value: Uint8Array): this {
    this.uvarint(value.length + 1)
    return this.raw(value)
  }

  compactNullableBytes(value: Uint8Array | null): this {
    if (value === null) return this.uvarint(0)
    return this.compactBytes(value)
  }

  /** Array length prefix: int32 (classic) or unsigned varint of length + 1 (compact); null is -1 / 0. */
  arrayLength(length: number | null, compact: boolean): this {
    if (compact) return this.uvarint(length === null ? 0 : length + 1)
    return this.int32(length === null ? -1 : length)
  }
}
