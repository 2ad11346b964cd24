import { createRequire } from 'node:module'
import { createCrc32 } from './crc-slicing.js'

type NativeCrc32c = (input: Buffer, initialState?: number) => number

const portable = createCrc32(0x82f63b78)

/**
 * @node-rs/crc32 uses the CPU's CRC32 instructions: several times faster than the best table
 * code, and on the consume path the CRC dominates decoding. Platforms without its prebuilt
 * binary fall back to the portable slicing implementation, which gives the same answers.
 */
function loadNative(): NativeCrc32c | null {
  try {
    const native = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: NativeCrc32c }
    return typeof native.crc32c === 'function' ? native.crc32c : null
  } catch {
    return null
  }
}

const native = loadNative()

/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of magic v2 record
 * batches (KIP-98), computed over the attributes field to the end of the batch.
 * Returns an unsigned 32-bit value over `data[start, end)`.
 */
export function crc32c(data: Uint8Array, start = 0, end = data.length): number {
  if (native === null) return portable(data, start, end)
  if (start < 0 || end > data.length || start > end) {
    throw new RangeError(`CRC range [${start}, ${end}) outside a buffer of ${data.length} bytes`)
  }
  const view = Buffer.from(data.buffer, data.byteOffset + start, end - start)
  return native(view) >>> 0
}

/** The portable implementation, exported so tests can hold both to the same answers. */
export const crc32cPortable = portable
