import { compressFrameSync, decompressFrameSync, uncompressSync } from 'lz4-napi'
import { checkDecompressedSize, compressionError } from './compression-error.js'

/**
 * LZ4 as Kafka uses it since KIP-57: the standard LZ4 *frame* format (magic 0x184D2204), which
 * lz4-napi writes with `compressFrameSync` (its `compressSync` writes a bare size-prefixed block,
 * which Kafka would reject).
 *
 * Decoding walks the frame itself and decompresses block by block with lz4-napi's block
 * decoder: its frame decoder measured about 13x slower (0.2 GB/s), and has no output limit. Each
 * block is given at most the bytes left under the cap, so the limit is exact. Kafka's reader only
 * accepts independent blocks, so every producer Kafka accepts writes them; a frame of linked blocks
 * still decodes, through the library's frame decoder, after a bound check. The optional xxHash
 * checksums are not verified: the batch's CRC already covers the compressed bytes.
 */

const FRAME_MAGIC = 0x184d2204
const FLAG_BLOCK_INDEPENDENCE = 0x20
const FLAG_BLOCK_CHECKSUM = 0x10
const FLAG_CONTENT_SIZE = 0x08
const FLAG_CONTENT_CHECKSUM = 0x04
const FLAG_DICTIONARY_ID = 0x01
const BLOCK_UNCOMPRESSED_BIT = 0x80000000
/** Block maximum sizes by the BD byte's id 4..7: 64 KiB, 256 KiB, 1 MiB, 4 MiB. */
const MAX_BLOCK_BYTES_BY_ID: Readonly<Record<number, number>> = { 4: 1 << 16, 5: 1 << 18, 6: 1 << 20, 7: 1 << 22 }

interface FrameBlock {
  readonly data: Buffer
  readonly stored: boolean
}

interface Lz4Frame {
  readonly independentBlocks: boolean
  readonly maxBlockBytes: number
  readonly blocks: readonly FrameBlock[]
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
}

export function compressLz4Frame(data: Uint8Array): Buffer {
  return compressFrameSync(asBuffer(data))
}

/** Splits the single frame in `frame` into its blocks; throws if it is malformed or followed by bytes. */
export function parseLz4Frame(frame: Buffer): Lz4Frame {
  const truncated = (what: string): never => {
    throw compressionError('lz4', `frame truncated in its ${what}`)
  }
  if (frame.length < 7) truncated('header')
  if (frame.readUInt32LE(0) !== FRAME_MAGIC) throw compressionError('lz4', 'not an LZ4 frame (bad magic)')
  const flags = frame[4]!
  if (flags >>> 6 !== 1) throw compressionError('lz4', `unsupported frame version ${flags >>> 6}`)
  const maxBlockBytes = MAX_BLOCK_BYTES_BY_ID[(frame[5]! >>> 4) & 0x07]
  if (maxBlockBytes === undefined) throw compressionError('lz4', `invalid block size id in descriptor byte ${frame[5]}`)

  // The optional content size is skipped, not trusted: the blocks say what the frame holds.
  let position = 6
  if (flags & FLAG_CONTENT_SIZE) position += 8
  if (flags & FLAG_DICTIONARY_ID) position += 4
  position += 1 // header checksum byte

  const blocks: FrameBlock[] = []
  for (;;) {
    if (frame.length < position + 4) truncated('block list')
    const blockHeader = frame.readUInt32LE(position)
    position += 4
    if (blockHeader === 0) break // end mark
    const blockBytes = blockHeader & ~BLOCK_UNCOMPRESSED_BIT
    if (blockBytes > maxBlockBytes) throw compressionError('lz4', `block of ${blockBytes} bytes exceeds the frame's ${maxBlockBytes}`)
    if (frame.length < position + blockBytes) truncated('blocks')
    blocks.push({ data: frame.subarray(position, position + blockBytes), stored: (blockHeader & BLOCK_UNCOMPRESSED_BIT) !== 0 })
    position += blockBytes + (flags & FLAG_BLOCK_CHECKSUM ? 4 : 0)
  }
  if (flags & FLAG_CONTENT_CHECKSUM) position += 4
  if (position > frame.length) truncated('checksums')
  // Kafka writes exactly one frame per payload; bytes after it would escape the limit.
  if (position < frame.length) throw compressionError('lz4', `${frame.length - position} trailing bytes after the frame`)
  return { independentBlocks: (flags & FLAG_BLOCK_INDEPENDENCE) !== 0, maxBlockBytes, blocks }
}

/** One compressed block through lz4-napi's size-prefixed block decoder, allowed `capacity` bytes out. */
function decompressBlock(block: Buffer, capacity: number): Buffer {
  const prefixed = Buffer.allocUnsafe(4 + block.length)
  prefixed.writeUInt32LE(capacity, 0)
  block.copy(prefixed, 4)
  try {
    return uncompressSync(prefixed)
  } catch (error) {
    throw compressionError('lz4', `corrupt block, or it expands past the ${capacity} bytes allowed`, error)
  }
}

/** The library's frame decoder, for linked blocks only, after bounding the output by block count. */
function decompressLinkedFrame(input: Buffer, frame: Lz4Frame, maxBytes: number): Buffer {
  const bound = frame.blocks.reduce((sum, block) => sum + (block.stored ? block.data.length : frame.maxBlockBytes), 0)
  checkDecompressedSize('lz4', bound, maxBytes, 'frame may expand to')
  try {
    return decompressFrameSync(input)
  } catch (error) {
    throw compressionError('lz4', 'corrupt frame', error)
  }
}

export function decompressLz4Frame(data: Uint8Array, maxBytes: number): Buffer {
  const input = asBuffer(data)
  const frame = parseLz4Frame(input)
  if (!frame.independentBlocks) return decompressLinkedFrame(input, frame, maxBytes)
  const outputs: Buffer[] = []
  let total = 0
  for (const block of frame.blocks) {
    const budget = maxBytes - total
    if (block.stored) checkDecompressedSize('lz4', total + block.data.length, maxBytes, 'frame expands to at least')
    const output = block.stored ? block.data : decompressBlock(block.data, Math.min(frame.maxBlockBytes, budget))
    total += output.length
    outputs.push(output)
  }
  return outputs.length === 1 && !frame.blocks[0]!.stored ? outputs[0]! : Buffer.concat(outputs, total)
}
