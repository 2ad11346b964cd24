import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { compressSync as snappyRawCompress } from 'snappy'
import { compress as zstdCompress } from 'zstd-napi'
import { parseLz4Frame } from '../../../src/protocol/records/compression-lz4.js'
import {
  compress,
  compressionCodecFromId,
  compressionCodecId,
  decompress,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  type CompressionCodec,
} from '../../../src/protocol/records/index.js'
import { ALL_CODECS, assertDecodeError, propertyOptions } from './helpers.js'

const COMPRESSED_CODECS = ALL_CODECS.filter((codec) => codec !== 'none')
const compressible = Buffer.from('kafka record batch payload, repeated; '.repeat(4000))

describe('compression codecs', () => {
  it('maps attribute ids 0-4 to codecs and back', () => {
    ALL_CODECS.forEach((codec, id) => {
      assert.equal(compressionCodecFromId(id), codec)
      assert.equal(compressionCodecId(codec), id)
    })
  })

  it('rejects the unassigned ids 5-7 with DECODE_COMPRESSION', () => {
    for (const id of [5, 6, 7]) assertDecodeError(() => compressionCodecFromId(id), 'DECODE_COMPRESSION')
  })

  it('round-trips arbitrary bytes through every codec', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_CODECS), fc.uint8Array({ maxLength: 3000 }), fc.boolean(), (codec, bytes, repeat) => {
        const data = Buffer.from(repeat ? Buffer.concat([bytes, bytes, bytes]) : bytes)
        assert.deepEqual(decompress(codec, compress(codec, data)), data)
      }),
      propertyOptions(200),
    )
  })

  it('round-trips payloads larger than one snappy/lz4 block', () => {
    for (const codec of ALL_CODECS) assert.deepEqual(decompress(codec, compress(codec, compressible)), compressible, codec)
  })

  it('accepts a Uint8Array that is not a Buffer, at an offset in its memory', () => {
    const backing = new Uint8Array(compressible.length + 3)
    backing.set(compressible, 3)
    const view = backing.subarray(3)
    for (const codec of ALL_CODECS) {
      const packed = compress(codec, view)
      const copy = new Uint8Array(packed.length + 5)
      copy.set(packed, 5)
      assert.deepEqual(decompress(codec, copy.subarray(5)), compressible, codec)
    }
  })
})

describe('snappy framing', () => {
  it('writes xerial framing as the Java client does: magic, versions 1/1, int32-length-prefixed blocks', () => {
    const framed = compress('snappy', compressible)
    assert.deepEqual([...framed.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
    assert.equal(framed.readInt32BE(8), 1)
    assert.equal(framed.readInt32BE(12), 1)
    // 32 KiB blocks: the payload needs several, and their lengths tile the rest exactly.
    let position = 16
    let blocks = 0
    while (position < framed.length) {
      position += 4 + framed.readInt32BE(position)
      blocks++
    }
    assert.equal(position, framed.length)
    assert.equal(blocks, Math.ceil(compressible.length / 32768))
  })

  it('also decodes one raw snappy block (what librdkafka may send)', () => {
    assert.deepEqual(decompress('snappy', snappyRawCompress(compressible)), compressible)
  })

  it('rejects a xerial block whose length overruns the payload', () => {
    const framed = compress('snappy', compressible)
    framed.writeInt32BE(framed.length, 16)
    assertDecodeError(() => decompress('snappy', framed), 'DECODE_COMPRESSION')
  })
})

describe('lz4 framing', () => {
  it('writes the LZ4 frame format (KIP-57), not a bare block', () => {
    const frame = compress('lz4', compressible)
    assert.equal(frame.readUInt32LE(0), 0x184d2204)
    const parsed = parseLz4Frame(frame)
    assert.equal(parsed.independentBlocks, true) // the only kind Kafka's Java reader accepts
    assert.ok(parsed.blocks.length >= Math.ceil(compressible.length / parsed.maxBlockBytes))
  })

  it('decodes stored (uncompressed) blocks and frames of linked blocks', () => {
    const payload = Buffer.from('stored block payload')
    const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]) // independent blocks, 64 KiB max
    const blockHeader = Buffer.alloc(4)
    blockHeader.writeUInt32LE((payload.length | 0x80000000) >>> 0)
    const stored = Buffer.concat([header, blockHeader, payload, Buffer.alloc(4)])
    assert.deepEqual(decompress('lz4', stored), payload)
    assertDecodeError(() => decompress('lz4', stored, payload.length - 1), 'DECODE_COMPRESSION')
    // Clearing the independence flag routes through the library's frame decoder, which checks
    // the header checksum byte: that byte changes with the flags, so only the error path is portable.
    const linked = Buffer.from(stored)
    linked[4] = 0x40
    try {
      assert.deepEqual(decompress('lz4', linked), payload)
    } catch (error) {
      assert.ok(error instanceof Error && 'code' in error && error.code === 'DECODE_COMPRESSION')
    }
  })

  it('decodes frames of several blocks', () => {
    // lz4-napi picks 4 MiB blocks for large inputs (Kafka's reader accepts 64 KiB to 4 MiB).
    const large = Buffer.concat(Array.from({ length: 400 }, (_, i) => Buffer.from(`${i} `.repeat(5000 + i))))
    const frame = compress('lz4', large)
    assert.ok(parseLz4Frame(frame).blocks.length > 1)
    assert.deepEqual(decompress('lz4', frame), large)
    assertDecodeError(() => decompress('lz4', frame, large.length - 1), 'DECODE_COMPRESSION')
  })

  it('rejects trailing bytes after the frame', () => {
    const frame = compress('lz4', compressible)
    assertDecodeError(() => decompress('lz4', Buffer.concat([frame, Buffer.from([1, 2, 3])])), 'DECODE_COMPRESSION')
  })
})

describe('zstd framing', () => {
  it('decodes frames without a declared content size (as Java streams them), in chunks', () => {
    const streamed = zstdCompress(compressible, { contentSizeFlag: false })
    assert.deepEqual(decompress('zstd', streamed), compressible)
    const twoFrames = Buffer.concat([streamed, zstdCompress(Buffer.from('second frame'))])
    assert.deepEqual(decompress('zstd', twoFrames), Buffer.concat([compressible, Buffer.from('second frame')]))
  })

  it('rejects a truncated streamed frame', () => {
    const streamed = zstdCompress(compressible, { contentSizeFlag: false })
    assertDecodeError(() => decompress('zstd', streamed.subarray(0, streamed.length - 4)), 'DECODE_COMPRESSION')
  })
})

describe('decompression limits and corrupt payloads', () => {
  it('has a default cap of 64 MiB', () => {
    assert.equal(DEFAULT_MAX_DECOMPRESSED_BYTES, 64 * 1024 * 1024)
  })

  it('stops every codec at the cap with DECODE_COMPRESSION (zip bomb protection)', () => {
    for (const codec of ALL_CODECS) {
      const packed = compress(codec, compressible)
      assertDecodeError(() => decompress(codec, packed, 1000), 'DECODE_COMPRESSION')
      assert.deepEqual(decompress(codec, packed, compressible.length), compressible, `${codec} at exactly the cap`)
    }
    const streamed = zstdCompress(compressible, { contentSizeFlag: false })
    assertDecodeError(() => decompress('zstd', streamed, 1000), 'DECODE_COMPRESSION')
  })

  it('turns garbage and damaged payloads into DECODE_COMPRESSION naming the codec', () => {
    const damaged = (codec: CompressionCodec): Buffer[] => {
      const packed = compress(codec, compressible)
      const flipped = Buffer.from(packed)
      for (let i = 12; i < flipped.length; i += 7) flipped[i] = flipped[i]! ^ 0x5a
      return [Buffer.from('definitely not compressed'), packed.subarray(0, packed.length >> 1), flipped, Buffer.alloc(0)]
    }
    for (const codec of COMPRESSED_CODECS) {
      for (const payload of damaged(codec)) {
        try {
          decompress(codec, payload)
        } catch (error) {
          assert.ok(error instanceof Error && 'code' in error && error.code === 'DECODE_COMPRESSION', `${codec}: ${String(error)}`)
          assert.match(error.message, new RegExp(codec))
          continue
        }
        // lz4 without checksums and snappy may "succeed" on flipped bits: the batch CRC guards those.
        assert.ok(codec === 'lz4' || codec === 'snappy', `${codec} accepted a damaged payload`)
      }
    }
  })
})
