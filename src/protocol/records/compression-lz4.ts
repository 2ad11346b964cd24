import { compressFrameSync, decompressFrameSync } from 'lz4-napi'
import { checkDecompressedSize, compressionError } from './compression-error.js'

/**
 * LZ4 as Kafka uses it since KIP-57: the standard LZ4 *frame* format (magic 0x184D2204), which
 * lz4-napi writes with `compressFrameSync` (its `compressSync` writes a bare block, which Kafka
 * would reject). lz4-napi's frames use independent blocks, which is all Kafka's reader supports.
 *
 * lz4-napi has no output limit, so before decompressing, the frame's block headers are walked
 * to bound the output size: each block is either stored (its exact size) or compressed (at most
 * the frame's maximum block size).
 */

const FRAME_MAGIC = 0x184d2204
const FLAG_BLOCK_CHECKSUM = 0x10
const FLAG_CONTENT_SIZE = 0x08
const FLAG_CONTENT_CHECKSUM = 0x04
const FLAG_DICTIONARY_ID = 0x01
const BLOCK_UNCOMPRESSED_BIT = 0x80000000
/** Block maximum sizes by the BD byte's id 4..7: 64 KiB, 256 KiB, 1 MiB, 4 MiB. */
const MAX_BLOCK_BYTES_BY_ID: Readonly<Record<number, number>> = { 4: 1 << 16, 5: 1 << 18, 6: 1 << 20, 7: 1 << 22 }

export function compressLz4Frame(data: Uint8Array): Buffer {
  return compressFrameSync(Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength))
}

/** An upper bound on what the single frame in `frame` decompresses to; throws if malformed. */
export function lz4FrameOutputBound(frame: Buffer): number {
  const truncated = (what: string): never => {
    throw compressionError('lz4', `frame truncated in its ${what}`)
  }
  if (frame.length < 7) truncated('header')
  if (frame.readUInt32LE(0) !== FRAME_MAGIC) throw compressionError('lz4', 'not an LZ4 frame (bad magic)')
  const flags = frame[4]!
  if (flags >>> 6 !== 1) throw compressionError('lz4', `unsupported frame version ${flags >>> 6}`)
  const maxBlockBytes = MAX_BLOCK_BYTES_BY_ID[(frame[5]! >>> 4) & 0x07]
  if (maxBlockBytes === undefined) throw compressionError('lz4', `invalid block size id in descriptor byte ${frame[5]}`)

  // The optional content size is skipped, not trusted: the block headers give a bound that cannot lie.
  let position = 6
  if (flags & FLAG_CONTENT_SIZE) position += 8
  if (flags & FLAG_DICTIONARY_ID) position += 4
  position += 1 // header checksum byte, verified by the library

  let bound = 0
  for (;;) {
    if (frame.length < position + 4) truncated('block list')
    const blockHeader = frame.readUInt32LE(position)
    position += 4
    if (blockHeader === 0) break // end mark
    const blockBytes = blockHeader & ~BLOCK_UNCOMPRESSED_BIT
    if (blockBytes > maxBlockBytes) throw compressionError('lz4', `block of ${blockBytes} bytes exceeds the frame's ${maxBlockBytes}`)
    bound += blockHeader & BLOCK_UNCOMPRESSED_BIT ? blockBytes : maxBlockBytes
    position += blockBytes + (flags & FLAG_BLOCK_CHECKSUM ? 4 : 0)
  }
  if (flags & FLAG_CONTENT_CHECKSUM) position += 4
  if (position > frame.length) truncated('content checksum')
  // Kafka writes exactly one frame per batch; bytes after it would escape the bound above.
  if (position < frame.length) throw compressionError('lz4', `${frame.length - position} trailing bytes after the frame`)
  return bound
}

export function decompressLz4Frame(data: Uint8Array, maxBytes: number): Buffer {
  const input = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  checkDecompressedSize('lz4', lz4FrameOutputBound(input), maxBytes, 'frame may expand to')
  let output: Buffer
  try {
    output = decompressFrameSync(input)
  } catch (error) {
    throw compressionError('lz4', 'corrupt frame', error)
  }
  checkDecompressedSize('lz4', output.length, maxBytes, 'frame produced')
  return output
}
