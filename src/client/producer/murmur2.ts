/**
 * Kafka's default partitioner for keyed records: MurmurHash2 (32-bit, seed 0x9747b28c) of the key
 * bytes, made non-negative by masking the sign bit, modulo the partition count. Matching the Java
 * client bit for bit matters: producers in different languages must send a key to the same
 * partition, or per-key ordering and compaction break.
 */
const SEED = 0x9747b28c
const M = 0x5bd1e995
const R = 24

/** MurmurHash2 as Kafka's `Utils.murmur2` computes it, as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  let h = (SEED ^ length) | 0
  const blocks = length & ~3
  for (let i = 0; i < blocks; i += 4) {
    // Little-endian 4-byte words.
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)
    k = Math.imul(k, M)
    k ^= k >>> R
    k = Math.imul(k, M)
    h = Math.imul(h, M) ^ k
  }
  // The 1-3 trailing bytes, highest first, as the reference's fall-through switch does.
  const tail = length & 3
  if (tail === 3) h ^= data[blocks + 2]! << 16
  if (tail >= 2) h ^= data[blocks + 1]! << 8
  if (tail >= 1) {
    h ^= data[blocks]!
    h = Math.imul(h, M)
  }
  h ^= h >>> 13
  h = Math.imul(h, M)
  h ^= h >>> 15
  return h | 0
}

/** `Utils.toPositive`: clears the sign bit (not Math.abs, which differs for negative values). */
export function toPositive(n: number): number {
  return n & 0x7fffffff
}

/** The partition the Java client's default partitioner picks for a keyed record. */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  return toPositive(murmur2(key)) % partitionCount
}
