import { createCrc32 } from './crc-slicing.js'

/**
 * CRC-32 (IEEE 802.3, zlib's, reflected polynomial 0xEDB88320): the checksum of legacy
 * messages (magic 0 and 1). `zlib.crc32` would do, but it only exists from Node 20.15/22.2.
 */
export const crc32 = createCrc32(0xedb88320)
