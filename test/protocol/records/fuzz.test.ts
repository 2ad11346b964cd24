import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { DecodeError } from '../../../src/protocol/errors/base.js'
import {
  compressionCodecFromId,
  decodeRecordBatch,
  decodeRecordBatches,
  decompress,
  encodeControlBatch,
  encodeRecordBatch,
  RecordBatchView,
  sliceRecordBatches,
} from '../../../src/protocol/records/index.js'
import { ALL_CODECS, batchInputArbitrary, propertyOptions, refreshCrc } from './helpers.js'
import { legacyEntry, legacyWrapper } from './legacy-builder.js'

/** Small, so that a mutated size field cannot make a test slow; the cap itself is tested elsewhere. */
const maxDecompressedBytes = 1 << 20

/** Runs `decode`; returning is fine, throwing is fine only as a DecodeError. */
function returnsOrThrowsDecodeError(decode: () => unknown): void {
  try {
    decode()
  } catch (error) {
    if (!(error instanceof DecodeError)) assert.fail(`threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`)
  }
}

/** Every decoder this layer exposes, over the same bytes. */
function feedEveryDecoder(bytes: Buffer): void {
  for (const verifyCrc of [true, false]) {
    returnsOrThrowsDecodeError(() => decodeRecordBatches(bytes, { verifyCrc, maxDecompressedBytes }))
    returnsOrThrowsDecodeError(() => decodeRecordBatch(bytes, { verifyCrc, maxDecompressedBytes }))
    returnsOrThrowsDecodeError(() => sliceRecordBatches(bytes, { verifyCrc }))
    returnsOrThrowsDecodeError(() => {
      const view = RecordBatchView.at(bytes, 0, { verifyCrc })
      void [view.header(), view.lastSequence, view.compression, view.isCrcValid()]
      return view.decode({ maxDecompressedBytes })
    })
  }
  for (const codec of ALL_CODECS) returnsOrThrowsDecodeError(() => decompress(codec, bytes, maxDecompressedBytes))
}

/** Valid encodings of every kind this layer reads: v2 batches of every codec, control batches, legacy entries. */
const validBytes: fc.Arbitrary<Buffer> = fc.oneof(
  batchInputArbitrary.map((input) => encodeRecordBatch(input)),
  fc.constantFrom('abort' as const, 'commit' as const).map((marker) => encodeControlBatch({ marker, producerId: 1n, producerEpoch: 0, coordinatorEpoch: 0, timestamp: 0 })),
  fc.constantFrom(0 as const, 1 as const).map((magic) => legacyEntry({ offset: 3n, magic, timestamp: 1, key: Buffer.from('k'), value: Buffer.from('v') })),
  fc.constantFrom('gzip' as const, 'snappy' as const, 'lz4' as const).map((codec) =>
    legacyWrapper({ offset: 3n, magic: 1, codec, timestamp: 1 }, [0n, 1n].map((offset) => ({ offset, magic: 1, timestamp: 1, value: Buffer.from('v') }))),
  ),
)

type Mutation = { kind: 'flip'; at: number; mask: number } | { kind: 'truncate'; at: number } | { kind: 'splice'; at: number; bytes: Uint8Array } | { kind: 'set32'; at: number; value: number }

const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  // Lengths and counts are int32s: plant extreme values where they are likely to land.
  fc.record({ kind: fc.constant('set32' as const), at: fc.nat(), value: fc.constantFrom(-1, -2, 0, 1, 0x7fffffff, -0x80000000, 49, 1000) }),
)

function mutate(bytes: Buffer, mutation: Mutation): Buffer {
  if (bytes.length === 0) return bytes
  const at = mutation.at % bytes.length
  switch (mutation.kind) {
    case 'flip': {
      const copy = Buffer.from(bytes)
      copy[at] = copy[at]! ^ mutation.mask
      return copy
    }
    case 'truncate':
      return bytes.subarray(0, at)
    case 'splice':
      return Buffer.concat([bytes.subarray(0, at), mutation.bytes, bytes.subarray(at)])
    case 'set32': {
      const copy = Buffer.from(bytes)
      if (at + 4 <= copy.length) copy.writeInt32BE(mutation.value, at)
      return copy
    }
  }
}

describe('fuzz: decoders return or throw DecodeError, nothing else', { timeout: 120_000 }, () => {
  it('on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)), feedEveryDecoder), propertyOptions(400))
  })

  it('on random bodies behind a plausible v2 or legacy framing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 10, maxLength: 300 }), fc.constantFrom(0, 1, 2), fc.integer({ min: 0, max: 7 }), (body, magic, codec) => {
        const bytes = Buffer.concat([Buffer.alloc(17), body])
        bytes.writeInt32BE(bytes.length - 12, 8)
        bytes.writeInt8(magic, 16)
        if (magic === 2 && bytes.length >= 61) {
          bytes.writeUInt16BE(codec, 21)
          refreshCrc(bytes)
        } else if (magic !== 2) {
          bytes.writeInt8(codec & 3, 17) // legacy attributes follow the magic
        }
        feedEveryDecoder(bytes)
      }),
      propertyOptions(400),
    )
  })

  it('on valid batches with random mutations, CRC left stale or recomputed', () => {
    fc.assert(
      fc.property(validBytes, fc.array(mutationArbitrary, { minLength: 1, maxLength: 4 }), fc.boolean(), (valid, mutations, fixCrc) => {
        let bytes = mutations.reduce(mutate, valid)
        if (fixCrc && bytes.length >= 61 && bytes[16] === 2) bytes = refreshCrc(Buffer.from(bytes))
        feedEveryDecoder(bytes)
        feedEveryDecoder(Buffer.concat([valid, bytes])) // after a good batch, in a fetch
      }),
      propertyOptions(500),
    )
  })

  it('on compression codec ids of any value', () => {
    fc.assert(fc.property(fc.integer(), (id) => returnsOrThrowsDecodeError(() => compressionCodecFromId(id))), propertyOptions(200))
  })
})
