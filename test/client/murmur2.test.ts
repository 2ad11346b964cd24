import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { Partitioners } from 'kafkajs'
import { murmur2, partitionForKey, toPositive } from '../../src/client/producer/murmur2.js'

/**
 * An independent MurmurHash2 written from the algorithm's definition with BigInt arithmetic
 * (no 32-bit tricks), as the reference the fast implementation must agree with.
 */
function referenceMurmur2(data: Uint8Array): number {
  const mask = 0xffffffffn
  const m = 0x5bd1e995n
  const mul = (a: bigint, b: bigint): bigint => (a * b) & mask
  let h = (0x9747b28cn ^ BigInt(data.length)) & mask
  let i = 0
  for (; i + 4 <= data.length; i += 4) {
    let k = BigInt(data[i]!) + (BigInt(data[i + 1]!) << 8n) + (BigInt(data[i + 2]!) << 16n) + (BigInt(data[i + 3]!) << 24n)
    k = mul(k, m)
    k ^= k >> 24n
    k = mul(k, m)
    h = mul(h, m) ^ k
  }
  const rest = data.length - i
  if (rest >= 3) h ^= BigInt(data[i + 2]!) << 16n
  if (rest >= 2) h ^= BigInt(data[i + 1]!) << 8n
  if (rest >= 1) {
    h ^= BigInt(data[i]!)
    h = mul(h, m)
  }
  h ^= h >> 13n
  h = mul(h, m)
  h ^= h >> 15n
  return Number(BigInt.asIntN(32, h))
}

describe('murmur2 partitioner', () => {
  it('matches the values the Java client computes for known keys', () => {
    // Published expectations of Kafka's Utils.murmur2 for these inputs.
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ]
    for (const [key, expected] of cases) {
      assert.equal(murmur2(Buffer.from(key)), expected, key)
      assert.equal(referenceMurmur2(Buffer.from(key)), expected, `reference for ${key}`)
    }
  })

  it('agrees with an independent BigInt implementation on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => murmur2(bytes) === referenceMurmur2(bytes)),
      { numRuns: 2000 },
    )
  })

  it('picks the same partition as KafkaJS’s Java-compatible default partitioner', () => {
    const kafkajs = Partitioners.DefaultPartitioner()
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 100 }), (key, count) => {
        const partitionMetadata = Array.from({ length: count }, (_, i) => ({ partitionId: i, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }))
        const theirs = kafkajs({ topic: 't', partitionMetadata, message: { key, value: null } })
        return partitionForKey(Buffer.from(key), count) === theirs
      }),
      { numRuns: 500 },
    )
  })

  it('clears the sign bit rather than taking the absolute value', () => {
    assert.equal(toPositive(-1), 0x7fffffff)
    assert.equal(toPositive(-2147483648), 0)
  })
})
