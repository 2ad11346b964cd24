import { createCrc32 } from './crc-slicing.js'

/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of magic v2 record
 * batches (KIP-98), computed over the attributes field to the end of the batch.
 * Returns an unsigned 32-bit value over `data[start, end)`.
 */
export const crc32c = createCrc32(0x82f63b78)
