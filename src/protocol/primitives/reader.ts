import { DecodeError } from '../errors/base.js'

/**
 * A bounds-checked big-endian reader over one buffer.
 *
 * Every read checks the remaining length first and throws a `DecodeError` naming the offset,
 * so a truncated or lying frame can never read past its end or loop forever: each length is
 * validated against the bytes actually left before anything is allocated for it.
 */
export class Reader {
  readonly buffer: Buffer
  offset: number
  private readonly end: number
  /**
   * Read a null where the spec allows none (non-nullable bytes) as empty instead of failing. Only
   * for responses: librdkafka's mock cluster answers an errored SyncGroup with a null assignment,
   * which Kafka's brokers never send; the error code beside it is what the client acts on.
   */
  nullBytesAsEmpty = false

  constructor(buffer: Buffer, offset = 0, end = buffer.length) {
    this.buffer = buffer
    this.offset = offset
    this.end = end
  }

  get remaining(): number {
    return this.end - this.offset
  }

  private need(size: number, what: string): void {
    if (this.end - this.offset < size) {
      throw new DecodeError(
        'DECODE_TRUNCATED',
        `truncated input reading ${what} at byte ${this.offset}: need ${size} bytes, ${this.end - this.offset} left`,
      )
    }
  }

  /** Throws unless every byte was consumed: a message with trailing bytes was decoded with the wrong schema. */
  expectEnd(what: string): void {
    if (this.offset !== this.end) {
      throw new DecodeError(
        'DECODE_TRAILING_BYTES',
        `${this.end - this.offset} unexpected trailing bytes after ${what} at byte ${this.offset}`,
      )
    }
  }

  bool(): boolean {
    return this.int8() !== 0
  }

  int8(): number {
    this.need(1, 'int8')
    return this.buffer.readInt8(this.offset++)
  }

  uint8(): number {
    this.need(1, 'uint8')
    return this.buffer[this.offset++]!
  }

  int16(): number {
    this.need(2, 'int16')
    const value = this.buffer.readInt16BE(this.offset)
    this.offset += 2
    return value
  }

  uint16(): number {
    this.need(2, 'uint16')
    const value = this.buffer.readUInt16BE(this.offset)
    this.offset += 2
    return value
  }

  int32(): number {
    this.need(4, 'int32')
    const value = this.buffer.readInt32BE(this.offset)
    this.offset += 4
    return value
  }

  uint32(): number {
    this.need(4, 'uint32')
    const value = this.buffer.readUInt32BE(this.offset)
    this.offset += 4
    return value
  }

  int64(): bigint {
    this.need(8, 'int64')
    const value = this.buffer.readBigInt64BE(this.offset)
    this.offset += 8
    return value
  }

  float64(): number {
    this.need(8, 'float64')
    const value = this.buffer.readDoubleBE(this.offset)
    this.offset += 8
    return value
  }

  uvarint(): number {
    let result = 0
    let multiplier = 1
    for (let i = 0; i < 5; i++) {
      if (this.offset >= this.end) this.need(1, 'unsigned varint')
      const byte = this.buffer[this.offset++]!
      result += (byte & 0x7f) * multiplier
      if ((byte & 0x80) === 0) {
        if (result > 0xffffffff) break
        return result
      }
      multiplier *= 128
    }
    throw new DecodeError('DECODE_VARINT_TOO_LONG', `unsigned varint longer than 32 bits at byte ${this.offset}`)
  }

  varint(): number {
    const raw = this.uvarint()
    return (raw >>> 1) ^ -(raw & 1)
  }

  varlong(): bigint {
    let result = 0n
    let shift = 0n
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) this.need(1, 'varlong')
      const byte = this.buffer[this.offset++]!
      result |= BigInt(byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return (result >> 1n) ^ -(result & 1n)
      shift += 7n
    }
    throw new DecodeError('DECODE_VARINT_TOO_LONG', `varlong longer than 64 bits at byte ${this.offset}`)
  }

  /**
   * A varlong returned as a number. Exact for values within ±2^53 (every realistic timestamp and
   * delta); falls back to the bigint path otherwise and throws if the value is not a safe integer.
   */
  varlongNumber(): number {
    const start = this.offset
    let raw = 0
    let multiplier = 1
    for (let i = 0; i < 8; i++) {
      if (this.offset >= this.end) this.need(1, 'varlong')
      const byte = this.buffer[this.offset++]!
      raw += (byte & 0x7f) * multiplier
      if ((byte & 0x80) === 0) {
        // zig-zag with arithmetic: raw < 2^56, so halving stays exact.
        return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2
      }
      multiplier *= 128
    }
    this.offset = start
    const value = this.varlong()
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new DecodeError('DECODE_INVALID_VALUE', `varlong ${value} at byte ${start} is not a safe integer`)
    }
    return Number(value)
  }

  uuid(): Buffer {
    return this.raw(16, 'uuid')
  }

  /** A view of the next `size` bytes (no copy). */
  raw(size: number, what = 'bytes'): Buffer {
    this.need(size, what)
    const view = this.buffer.subarray(this.offset, this.offset + size)
    this.offset += size
    return view
  }

  private utf8(size: number, what: string): string {
    this.need(size, what)
    const value = this.buffer.toString('utf8', this.offset, this.offset + size)
    this.offset += size
    return value
  }

  private negative(what: string, length: number): never {
    throw new DecodeError('DECODE_NEGATIVE_LENGTH', `negative length ${length} for ${what} at byte ${this.offset}`)
  }

  string(): string {
    const size = this.int16()
    if (size < 0) this.negative('non-nullable string', size)
    return this.utf8(size, 'string')
  }

  nullableString(): string | null {
    const size = this.int16()
    if (size === -1) return null
    if (size < 0) this.negative('string', size)
    return this.utf8(size, 'string')
  }

  compactString(): string {
    const size = this.uvarint() - 1
    if (size < 0) this.negative('non-nullable compact string', size)
    return this.utf8(size, 'compact string')
  }

  compactNullableString(): string | null {
    const size = this.uvarint() - 1
    if (size === -1) return null
    return this.utf8(size, 'compact string')
  }

  bytes(): Buffer {
    const size = this.int32()
    if (size === -1 && this.nullBytesAsEmpty) return Buffer.alloc(0)
    if (size < 0) this.negative('non-nullable bytes', size)
    return this.raw(size)
  }

  nullableBytes(): Buffer | null {
    const size = this.int32()
    if (size === -1) return null
    if (size < 0) this.negative('bytes', size)
    return this.raw(size)
  }

  compactBytes(): Buffer {
    const size = this.uvarint() - 1
    if (size === -1 && this.nullBytesAsEmpty) return Buffer.alloc(0)
    if (size < 0) this.negative('non-nullable compact bytes', size)
    return this.raw(size, 'compact bytes')
  }

  compactNullableBytes(): Buffer | null {
    const size = this.uvarint() - 1
    if (size === -1) return null
    return this.raw(size, 'compact bytes')
  }

  /**
   * An array length, or null. The length is checked against the bytes left (each element takes
   * at least `minElementSize` bytes), so a forged count of two billion fails at once instead of
   * allocating or looping.
   */
  arrayLength(compact: boolean, what: string, minElementSize = 1): number | null {
    const length = compact ? this.uvarint() - 1 : this.int32()
    if (length === -1) return null
    if (length < 0) this.negative(what, length)
    if (length * minElementSize > this.end - this.offset) {
      throw new DecodeError(
        'DECODE_TRUNCATED',
        `array ${what} claims ${length} elements at byte ${this.offset} but only ${this.end - this.offset} bytes remain`,
      )
    }
    return length
  }
}
