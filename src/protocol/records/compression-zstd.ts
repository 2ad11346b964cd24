import { compress as zstdCompress } from 'zstd-napi'
import zstdBinding from 'zstd-napi/binding.js'
import { DecodeError } from '../errors/base.js'
import { checkDecompressedSize, compressionError } from './compression-error.js'

/**
 * Zstandard (KIP-110). zstd-napi's one-shot `decompress` trusts the frame's declared content size
 * and has no output limit, so decoding drives the native context directly: a frame that declares
 * its size is checked against the cap before the output is allocated; one that does not (Java's
 * streaming writer leaves it out) is decompressed in chunks that stop at the cap.
 */

let sharedContext: zstdBinding.DCtx | undefined
/** Output chunk size for the streaming path: the library's recommended size. */
const STREAM_CHUNK_BYTES = zstdBinding.dStreamOutSize()

export function compressZstd(data: Uint8Array): Buffer {
  return zstdCompress(data)
}

function context(): zstdBinding.DCtx {
  sharedContext ??= new zstdBinding.DCtx()
  // A previous call may have thrown half-way through a frame: start clean.
  sharedContext.reset(zstdBinding.ResetDirective.sessionOnly)
  return sharedContext
}

/** The content size of a payload that is exactly one frame declaring it, else null. */
function singleFrameContentSize(input: Uint8Array): number | null {
  const size = zstdBinding.getFrameContentSize(input)
  if (size === null) return null
  return zstdBinding.findFrameCompressedSize(input) === input.length ? size : null
}

function decompressStreaming(dctx: zstdBinding.DCtx, input: Uint8Array, maxBytes: number): Buffer {
  const chunks: Buffer[] = []
  let total = 0
  let pending = input
  let moreToFlush = true
  while (pending.length > 0 || moreToFlush) {
    // One byte past the cap is enough to know it was exceeded.
    const chunk = Buffer.allocUnsafe(Math.min(Math.max(STREAM_CHUNK_BYTES, pending.length), maxBytes - total + 1))
    const [hint, produced, consumed] = dctx.decompressStream(chunk, pending)
    if (produced === 0 && consumed === 0) throw compressionError('zstd', 'truncated frame')
    total += produced
    checkDecompressedSize('zstd', total, maxBytes, 'payload expands to at least')
    chunks.push(chunk.subarray(0, produced))
    pending = pending.subarray(consumed)
    // hint 0: a frame just ended. Otherwise more output may be buffered even with no input left.
    moreToFlush = hint !== 0 && produced === chunk.length
    if (pending.length === 0 && hint !== 0 && produced < chunk.length) throw compressionError('zstd', 'truncated frame')
  }
  return Buffer.concat(chunks, total)
}

export function decompressZstd(data: Uint8Array, maxBytes: number): Buffer {
  try {
    const dctx = context()
    const contentSize = singleFrameContentSize(data)
    if (contentSize === null) return decompressStreaming(dctx, data, maxBytes)
    checkDecompressedSize('zstd', contentSize, maxBytes, 'frame declares')
    const output = Buffer.allocUnsafe(contentSize)
    const written = dctx.decompress(output, data)
    if (written !== contentSize) throw compressionError('zstd', `frame declared ${contentSize} bytes but produced ${written}`)
    return output
  } catch (error) {
    if (error instanceof DecodeError) throw error
    throw compressionError('zstd', 'corrupt payload', error)
  }
}
