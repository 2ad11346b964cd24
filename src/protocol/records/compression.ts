import { gunzipSync, gzipSync } from 'node:zlib'
import { EncodeError } from '../errors/base.js'
import { compressionError } from './compression-error.js'
import { compressLz4Frame, decompressLz4Frame } from './compression-lz4.js'
import { compressSnappyXerial, decompressSnappy } from './compression-snappy.js'
import { compressZstd, decompressZstd } from './compression-zstd.js'

/**
 * Kafka's compression codecs, keyed by the id in bits 0-2 of a batch's attributes.
 *
 * Everything here is synchronous: one batch is at most a few MiB, and the async variants of these
 * libraries pay a thread-pool round trip per call that costs more than the work at that size.
 */
export type CompressionCodec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'

const CODEC_BY_ID: readonly CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd']
const ID_BY_CODEC: Readonly<Record<CompressionCodec, number>> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 }

/**
 * The default cap on one payload's decompressed size. A batch is limited by the broker's
 * message.max.bytes (1 MiB by default) when compressed; 64 MiB leaves room for very compressible
 * data while stopping a "zip bomb" long before it can exhaust memory.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024

/** The codec for attribute bits 0-2; ids 5-7 are unassigned and throw `DECODE_COMPRESSION`. */
export function compressionCodecFromId(id: number): CompressionCodec {
  const codec = CODEC_BY_ID[id]
  if (codec === undefined) throw compressionError(`codec id ${id}`, 'unknown compression codec')
  return codec
}

export function compressionCodecId(codec: CompressionCodec): number {
  return ID_BY_CODEC[codec]
}

/** Compresses `data` the way Kafka's own producer would; 'none' returns the bytes as they are. */
export function compress(codec: CompressionCodec, data: Uint8Array): Buffer {
  try {
    switch (codec) {
      case 'none':
        return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      case 'gzip':
        return gzipSync(data)
      case 'snappy':
        return compressSnappyXerial(data)
      case 'lz4':
        return compressLz4Frame(data)
      case 'zstd':
        return compressZstd(data)
    }
  } catch (error) {
    throw new EncodeError(`${codec} compression failed`, { cause: error })
  }
}

/**
 * Decompresses one payload. Any failure, including output beyond `maxDecompressedBytes`, throws
 * `DecodeError('DECODE_COMPRESSION')` with the codec named in the message.
 */
export function decompress(codec: CompressionCodec, data: Uint8Array, maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Buffer {
  switch (codec) {
    case 'none':
      if (data.length > maxDecompressedBytes) {
        throw compressionError(codec, `${data.length} bytes, over the ${maxDecompressedBytes}-byte limit`)
      }
      return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    case 'gzip':
      try {
        // maxOutputLength makes zlib stop at the cap instead of allocating whatever the stream claims.
        return gunzipSync(data, { maxOutputLength: maxDecompressedBytes })
      } catch (error) {
        throw compressionError(codec, 'corrupt payload or over the decompression limit', error)
      }
    case 'snappy':
      return decompressSnappy(data, maxDecompressedBytes)
    case 'lz4':
      return decompressLz4Frame(data, maxDecompressedBytes)
    case 'zstd':
      return decompressZstd(data, maxDecompressedBytes)
  }
}
