import { DecodeError } from '../errors/base.js'

/** The one error a failed decompression becomes, whatever the library threw. */
export function compressionError(codec: string, message: string, cause?: unknown): DecodeError {
  const detail = cause instanceof Error ? `: ${cause.message}` : ''
  return new DecodeError('DECODE_COMPRESSION', `${codec}: ${message}${detail}`, cause === undefined ? undefined : { cause })
}

/** Throws unless `size` fits under the decompression cap; `what` says how the size was learnt. */
export function checkDecompressedSize(codec: string, size: number, maxBytes: number, what: string): void {
  if (size > maxBytes) {
    throw compressionError(codec, `${what} ${size} bytes, over the ${maxBytes}-byte decompression limit`)
  }
}
