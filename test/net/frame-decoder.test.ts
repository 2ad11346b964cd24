import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { FrameDecoder, FrameTooLargeError } from '../../src/net/frame-decoder.js'

function framed(payloads: readonly Buffer[]): Buffer {
  return Buffer.concat(
    payloads.flatMap((payload) => {
      const size = Buffer.alloc(4)
      size.writeInt32BE(payload.length)
      return [size, payload]
    }),
  )
}

/** Cuts `bytes` at the given points (any order, duplicates allowed). */
function cut(bytes: Buffer, points: readonly number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Buffer[] = []
  let from = 0
  for (const point of [...sorted, bytes.length]) {
    chunks.push(bytes.subarray(from, point))
    from = point
  }
  return chunks
}

test('any split of a stream yields its frames, in order and intact', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (payloads, points) => {
        const buffers = payloads.map((p) => Buffer.from(p))
        const decoder = new FrameDecoder()
        const out: Buffer[] = []
        for (const chunk of cut(framed(buffers), points)) out.push(...decoder.push(chunk))
        assert.deepEqual(out.map((b) => [...b]), buffers.map((b) => [...b]))
        assert.equal(decoder.pendingBytes, 0)
      },
    ),
  )
})

test('a frame spanning chunks is not changed by what later arrives in them', () => {
  const payload = Buffer.alloc(1000, 7)
  const stream = framed([payload, Buffer.alloc(10, 9)])
  const chunks = [Buffer.from(stream.subarray(0, 300)), Buffer.from(stream.subarray(300, 1010)), Buffer.from(stream.subarray(1010))]
  const decoder = new FrameDecoder()
  const frames = chunks.flatMap((chunk) => {
    const got = decoder.push(chunk)
    chunk.fill(0) // the socket's buffer reused
    return got
  })
  assert.equal(frames.length, 2)
  assert.ok(frames[0]!.equals(payload))
  assert.ok(frames[1]!.equals(Buffer.alloc(10, 9)))
})

test('pendingBytes counts a partly received frame; a refused reservation holds the frame until pushed again', () => {
  let allow = false
  const decoder = new FrameDecoder(1 << 20, () => allow)
  const stream = framed([Buffer.alloc(100, 1)])
  assert.deepEqual(decoder.push(stream.subarray(0, 50)), [])
  assert.equal(decoder.waitingForReservation, true)
  assert.equal(decoder.pendingBytes, 50)
  allow = true
  assert.deepEqual(decoder.push(Buffer.alloc(0)), [])
  assert.equal(decoder.waitingForReservation, false)
  assert.equal(decoder.pendingBytes, 46)
  const frames = decoder.push(stream.subarray(50))
  assert.equal(frames.length, 1)
  assert.ok(frames[0]!.equals(Buffer.alloc(100, 1)))
  assert.equal(decoder.pendingBytes, 0)
})

test('an oversized or negative size is refused', () => {
  const decoder = new FrameDecoder(10)
  assert.throws(() => decoder.push(framed([Buffer.alloc(11)])), FrameTooLargeError)
  const negative = Buffer.alloc(4)
  negative.writeInt32BE(-1)
  assert.throws(() => new FrameDecoder().push(negative), FrameTooLargeError)
})
