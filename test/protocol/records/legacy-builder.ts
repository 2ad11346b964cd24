/**
 * Builds legacy message set entries (magic 0 and 1) byte by byte, for tests. It shares no code
 * with the decoder under test (its CRC-32 is the bitwise definition); the legacy tests check its
 * output against KafkaJS's encoder where both can build the same entry.
 */
import { compress, type CompressionCodec } from '../../../src/protocol/records/index.js'

export interface LegacyMessageDraft {
  readonly offset: bigint
  readonly magic: 0 | 1
  /** Compression id in bits 0-2, LogAppendTime in bit 3 (magic 1). */
  readonly attributes?: number
  readonly timestamp?: number
  readonly key?: Buffer | null
  readonly value: Buffer | null
}

function bitwiseCrc32(data: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of data) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}

function nullableBytes(value: Buffer | null | undefined): Buffer {
  const length = Buffer.alloc(4)
  if (value === null || value === undefined) {
    length.writeInt32BE(-1)
    return length
  }
  length.writeInt32BE(value.length)
  return Buffer.concat([length, value])
}

/** offset int64, size int32, crc, magic, attributes, [timestamp], key, value. */
export function legacyEntry(draft: LegacyMessageDraft): Buffer {
  const head = Buffer.alloc(draft.magic === 1 ? 10 : 2)
  head.writeInt8(draft.magic, 0)
  head.writeInt8(draft.attributes ?? 0, 1)
  if (draft.magic === 1) head.writeBigInt64BE(BigInt(draft.timestamp ?? -1), 2)
  const body = Buffer.concat([head, nullableBytes(draft.key), nullableBytes(draft.value)])
  const framing = Buffer.alloc(16)
  framing.writeBigInt64BE(draft.offset, 0)
  framing.writeInt32BE(body.length + 4, 8)
  framing.writeUInt32BE(bitwiseCrc32(body), 12)
  return Buffer.concat([framing, body])
}

const CODEC_IDS: Record<CompressionCodec, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 }

/** A compressed wrapper: its value is the compressed concatenation of `inner` entries. */
export function legacyWrapper(
  wrapper: { offset: bigint; magic: 0 | 1; codec: CompressionCodec; timestamp?: number; logAppendTime?: boolean },
  inner: readonly LegacyMessageDraft[],
): Buffer {
  const value = compress(wrapper.codec, Buffer.concat(inner.map(legacyEntry)))
  const attributes = CODEC_IDS[wrapper.codec] | (wrapper.logAppendTime === true ? 0x08 : 0)
  return legacyEntry({ offset: wrapper.offset, magic: wrapper.magic, attributes, timestamp: wrapper.timestamp ?? -1, key: null, value })
}
