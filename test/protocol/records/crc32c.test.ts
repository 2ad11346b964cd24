import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as zlib from 'node:zlib'
import fc from 'fast-check'
import { crc32 } from '../../../src/protocol/records/crc32.js'
import { crc32c, crc32cPortable } from '../../../src/protocol/records/crc32c.js'
import { propertyOptions } from './helpers.js'

/** The definition, one bit at a time: slow, obviously right, shares nothing with the tables. */
function bitwiseCrc(reflectedPolynomial: number, data: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of data) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ reflectedPolynomial : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

/** Data at any alignment: a view into a larger buffer starting `shift` bytes in. */
const shiftedBytes = fc
  .tuple(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 7 }))
  .map(([bytes, shift]) => {
    const backing = Buffer.alloc(bytes.length + shift)
    backing.set(bytes, shift)
    return backing.subarray(shift)
  })

describe('crc32c', () => {
  it('matches the known CRC-32C check values', () => {
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa)
    assert.equal(crc32c(Buffer.from('123456789', 'ascii')), 0xe3069283)
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43)
    assert.equal(crc32c(Buffer.alloc(0)), 0)
  })

  it('agrees with the bitwise definition at every length and alignment', () => {
    fc.assert(
      fc.property(shiftedBytes, (data) => {
        assert.equal(crc32c(data), bitwiseCrc(0x82f63b78, data))
      }),
      propertyOptions(400),
    )
  })

  it('computes over [start, end) exactly as over a copy of that range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const data = Buffer.from(bytes)
        const start = data.length === 0 ? 0 : a % (data.length + 1)
        const end = start + (data.length === 0 ? 0 : b % (data.length - start + 1))
        assert.equal(crc32c(data, start, end), crc32c(Buffer.from(data.subarray(start, end))))
      }),
      propertyOptions(300),
    )
  })

  it('gives the same answers from the hardware path and the portable fallback', () => {
    fc.assert(
      fc.property(shiftedBytes, (data) => {
        assert.equal(crc32cPortable(data, 0, data.length), crc32c(data))
        assert.equal(crc32cPortable(data, 0, data.length), bitwiseCrc(0x82f63b78, data))
      }),
      propertyOptions(200),
    )
  })

  it('refuses a range outside the buffer', () => {
    assert.throws(() => crc32c(Buffer.alloc(4), 0, 5), RangeError)
    assert.throws(() => crc32c(Buffer.alloc(4), 3, 2), RangeError)
  })
})

describe('crc32 (legacy messages)', () => {
  it('matches the known CRC-32 check value', () => {
    assert.equal(crc32(Buffer.from('123456789', 'ascii')), 0xcbf43926)
  })

  it('agrees with the bitwise definition and with zlib where Node has it', () => {
    const zlibCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32
    fc.assert(
      fc.property(shiftedBytes, (data) => {
        const expected = bitwiseCrc(0xedb88320, data)
        assert.equal(crc32(data), expected)
        if (zlibCrc32 !== undefined) assert.equal(zlibCrc32(data), expected)
      }),
      propertyOptions(300),
    )
  })
})
