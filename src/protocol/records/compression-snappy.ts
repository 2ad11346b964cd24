import { compressSync, uncompressSync } from 'snappy'
import { checkDecompressedSize, compressionError } from './compression-error.js'

/**
 * Snappy as Kafka writes it: the Java client wraps raw snappy blocks in xerial snappy-java's
 * stream framing (an 8-byte magic, two int32 versions, then int32-length-prefixed blocks).
 * librdkafka and some other clients send one raw snappy block instead, so decoding accepts both.
 */

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]) // 0x82 "SNAPPY" 0
const XERIAL_VERSION = 1
const XERIAL_COMPATIBLE_VERSION = 1
const XERIAL_HEADER_BYTES = 16
/** snappy-java's default block size; each block is compressed on its own. */
const XERIAL_BLOCK_BYTES = 32 * 1024

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
}

export function compressSnappyXerial(data: Uint8Array): Buffer {
  const input = asBuffer(data)
  const parts: Buffer[] = []
  const header = Buffer.allocUnsafe(XERIAL_HEADER_BYTES)
  XERIAL_MAGIC.copy(header, 0)
  header.writeInt32BE(XERIAL_VERSION, 8)
  header.writeInt32BE(XERIAL_COMPATIBLE_VERSION, 12)
  parts.push(header)
  for (let start = 0; start < input.length; start += XERIAL_BLOCK_BYTES) {
    const block = compressSync(input.subarray(start, Math.min(input.length, start + XERIAL_BLOCK_BYTES)))
    const length = Buffer.allocUnsafe(4)
    length.writeInt32BE(block.length, 0)
    parts.push(length, block)
  }
  return Buffer.concat(parts)
}

function isXerialFramed(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_BYTES && data.compare(XERIAL_MAGIC, 0, XERIAL_MAGIC.length, 0, XERIAL_MAGIC.length) === 0
}

/** The uncompressed length a raw snappy block declares in its leading unsigned varint. */
function declaredRawLength(block: Buffer): number {
  let value = 0
  let multiplier = 1
  for (let i = 0; i < 5 && i < block.length; i++) {
    const byte = block[i]!
    value += (byte & 0x7f) * multiplier
    if ((byte & 0x80) === 0) return value
    multiplier *= 128
  }
  throw compressionError('snappy', 'raw block does not start with a valid length varint')
}

/** Decompresses one raw block after checking its declared length, so no large buffer is made for a lie. */
function uncompressRawBlock(block: Buffer, budget: number): Buffer {
  checkDecompressedSize('snappy', declaredRawLength(block), budget, 'block declares')
  let output: string | Buffer
  try {
    output = uncompressSync(block, { asBuffer: true })
  } catch (error) {
    throw compressionError('snappy', 'corrupt block', error)
  }
  if (!Buffer.isBuffer(output)) throw compressionError('snappy', 'library returned a string')
  checkDecompressedSize('snappy', output.length, budget, 'block produced')
  return output
}

export function decompressSnappy(data: Uint8Array, maxBytes: number): Buffer {
  const input = asBuffer(data)
  if (!isXerialFramed(input)) return uncompressRawBlock(input, maxBytes)

  const blocks: Buffer[] = []
  let total = 0
  let position = XERIAL_HEADER_BYTES
  while (position < input.length) {
    if (input.length - position < 4) throw compressionError('snappy', `truncated xerial block length at byte ${position}`)
    const length = input.readInt32BE(position)
    position += 4
    if (length < 0 || length > input.length - position) {
      throw compressionError('snappy', `xerial block of ${length} bytes at byte ${position} overruns the ${input.length}-byte payload`)
    }
    const block = uncompressRawBlock(input.subarray(position, position + length), maxBytes - total)
    total += block.length
    blocks.push(block)
    position += length
  }
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks, total)
}
