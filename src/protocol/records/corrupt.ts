import { DecodeError } from '../errors/base.js'

export function corruptRecords(message: string, cause?: unknown): DecodeError {
  return new DecodeError('DECODE_CORRUPT_RECORDS', message, cause === undefined ? undefined : { cause })
}

/**
 * Runs `decode` over bytes whose outer framing is already known to be complete, so that a field
 * running past the end means the inner lengths or counts lie: the Reader's generic
 * `DECODE_TRUNCATED`/`DECODE_TRAILING_BYTES` become `DECODE_CORRUPT_RECORDS`, with the original as cause.
 */
export function withinCompleteFrame<T>(what: string, decode: () => T): T {
  try {
    return decode()
  } catch (error) {
    if (error instanceof DecodeError && (error.code === 'DECODE_TRUNCATED' || error.code === 'DECODE_TRAILING_BYTES')) {
      throw corruptRecords(`${what}: ${error.message}`, error)
    }
    throw error
  }
}
