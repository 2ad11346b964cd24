import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { DecodeError, EncodeError } from '../../src/protocol/errors/base.js'
import { Reader } from '../../src/protocol/primitives/reader.js'
import { Writer } from '../../src/protocol/primitives/writer.js'

const bytesOf = (write: (w: Writer) => void): Buffer => {
  const w = new Writer(1)
  write(w)
  return Buffer.from(w.finish())
}

function assertDecodeError(fn: () => unknown, code: DecodeError['code']): void {
  assert.throws(fn, (err: unknown) => err instanceof DecodeError && err.code === code)
}

describe('varints', () => {
  it('zig-zag encodes small magnitudes into one byte, sign alternating', () => {
    assert.deepEqual(bytesOf((w) => w.varint(0)), Buffer.from([0x00]))
    assert.deepEqual(bytesOf((w) => w.varint(-1)), Buffer.from([0x01]))
    assert.deepEqual(bytesOf((w) => w.varint(1)), Buffer.from([0x02]))
    assert.deepEqual(bytesOf((w) => w.varint(-64)), Buffer.from([0x7f]))
    assert.deepEqual(bytesOf((w) => w.varint(64)), Buffer.from([0x80, 0x01]))
    assert.deepEqual(bytesOf((w) => w.varint(0x7fffffff)), Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f]))
    assert.deepEqual(bytesOf((w) => w.varint(-0x80000000)), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))
    assert.deepEqual(bytesOf((w) => w.varlong(-(2n ** 63n))), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))
  })

  it('round-trips every int32 as varint and every int64 as varlong', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), (n) => {
        assert.equal(new Reader(bytesOf((w) => w.varint(n))).varint(), n)
      }),
    )
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        const bytes = bytesOf((w) => w.varlong(n))
        assert.equal(new Reader(bytes).varlong(), n)
        if (n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)) {
          assert.equal(new Reader(bytes).varlongNumber(), Number(n))
          assert.deepEqual(bytesOf((w) => w.varlongNumber(Number(n))), bytes)
        }
      }),
    )
  })

  it('round-trips unsigned varints up to 2^32-1 and rejects values outside', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        assert.equal(new Reader(bytesOf((w) => w.uvarint(n))).uvarint(), n)
      }),
    )
    assert.throws(() => new Writer().uvarint(-1), EncodeError)
    assert.throws(() => new Writer().varint(2 ** 31), EncodeError)
  })

  it('rejects a varint that never ends or runs past 32 bits', () => {
    assertDecodeError(() => new Reader(Buffer.from([0x80, 0x80])).uvarint(), 'DECODE_TRUNCATED')
    assertDecodeError(() => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])).uvarint(), 'DECODE_VARINT_TOO_LONG')
    assertDecodeError(() => new Reader(Buffer.alloc(11, 0xff)).varlong(), 'DECODE_VARINT_TOO_LONG')
  })
})

describe('strings, bytes and arrays', () => {
  it('round-trips classic and compact, nullable and not', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: 'grapheme', maxLength: 40 })), fc.option(fc.uint8Array({ maxLength: 40 })), (s, b) => {
        const bytes = bytesOf((w) => {
          w.nullableString(s).compactNullableString(s).nullableBytes(b).compactNullableBytes(b)
        })
        const r = new Reader(bytes)
        assert.equal(r.nullableString(), s)
        assert.equal(r.compactNullableString(), s)
        assert.deepEqual(r.nullableBytes(), b === null ? null : Buffer.from(b))
        assert.deepEqual(r.compactNullableBytes(), b === null ? null : Buffer.from(b))
        r.expectEnd('test')
      }),
    )
  })

  it('measures strings in UTF-8 bytes, not characters', () => {
    const bytes = bytesOf((w) => w.string('héllo✓'))
    assert.equal(bytes.readInt16BE(0), Buffer.byteLength('héllo✓'))
    assert.equal(new Reader(bytes).string(), 'héllo✓')
  })

  it('names the problem when lengths lie', () => {
    assertDecodeError(() => new Reader(Buffer.from([0xff, 0xfe])).nullableString(), 'DECODE_NEGATIVE_LENGTH')
    assertDecodeError(() => new Reader(Buffer.from([0x00, 0x05, 0x61])).string(), 'DECODE_TRUNCATED')
    assertDecodeError(() => new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff])).bytes(), 'DECODE_NEGATIVE_LENGTH')
    assertDecodeError(() => new Reader(Buffer.from([0x00])).compactString(), 'DECODE_NEGATIVE_LENGTH')
    // Two billion elements announced with four bytes left must fail before allocating anything.
    assertDecodeError(() => new Reader(Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0])).arrayLength(false, 'topics'), 'DECODE_TRUNCATED')
    assert.equal(new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff])).arrayLength(false, 'topics'), null)
    assert.equal(new Reader(Buffer.from([0x00])).arrayLength(true, 'topics'), null)
  })

  it('reads a null sent for non-nullable bytes as empty only when told to (responses from brokers that send one)', () => {
    const lenient = (bytes: number[]): Reader => {
      const reader = new Reader(Buffer.from(bytes))
      reader.nullBytesAsEmpty = true
      return reader
    }
    assert.deepEqual(lenient([0xff, 0xff, 0xff, 0xff]).bytes(), Buffer.alloc(0))
    assert.deepEqual(lenient([0x00]).compactBytes(), Buffer.alloc(0))
    assertDecodeError(() => lenient([0xff, 0xff, 0xff, 0xfe]).bytes(), 'DECODE_NEGATIVE_LENGTH')
    assertDecodeError(() => new Reader(Buffer.from([0x00])).compactBytes(), 'DECODE_NEGATIVE_LENGTH')
  })

  it('reports trailing bytes', () => {
    const r = new Reader(Buffer.from([0, 1, 2]))
    r.int16()
    assertDecodeError(() => r.expectEnd('x'), 'DECODE_TRAILING_BYTES')
  })
})

describe('fixed-width integers', () => {
  it('round-trips each width and fails cleanly when truncated', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -128, max: 127 }),
        fc.integer({ min: -32768, max: 32767 }),
        fc.integer({ min: -0x80000000, max: 0x7fffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.double(),
        (i8, i16, i32, u32, i64, f64) => {
          const bytes = bytesOf((w) => w.int8(i8).int16(i16).int32(i32).uint32(u32).int64(i64).float64(f64))
          const r = new Reader(bytes)
          assert.deepEqual([r.int8(), r.int16(), r.int32(), r.uint32(), r.int64(), r.float64()], [i8, i16, i32, u32, i64, f64])
          for (let cut = 0; cut < bytes.length; cut++) {
            const t = new Reader(bytes.subarray(0, cut))
            assert.throws(() => [t.int8(), t.int16(), t.int32(), t.uint32(), t.int64(), t.float64()], DecodeError)
          }
        },
      ),
      { numRuns: 50 },
    )
  })

  it('patches reserved positions after the body is written', () => {
    const w = new Writer(4)
    const at = w.reserve(4)
    w.string('a longer body that forces the buffer to grow')
    w.setInt32At(at, w.length - 4)
    const bytes = w.finish()
    assert.equal(bytes.readInt32BE(0), bytes.length - 4)
  })
})
