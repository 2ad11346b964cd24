import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import { decodeRecordBatches, encodeRecordBatch, type CompressionCodec } from '../../../src/protocol/records/index.js'
import { assertDecodeError, dataRecordsOf } from './helpers.js'
import { kafkaJsDecodeMessageSet, kafkaJsGzip, kafkaJsMessageSet } from './kafkajs-reference.js'
import { legacyEntry, legacyWrapper, type LegacyMessageDraft } from './legacy-builder.js'

const text = (value: Buffer | null): string | null => (value === null ? null : value.toString('utf8'))

function recordsOf(bytes: Buffer): { offset: bigint; timestamp: number; key: string | null; value: string | null }[] {
  return decodeRecordBatches(bytes).batches.flatMap((batch) =>
    dataRecordsOf(batch).map((record) => ({ offset: record.offset, timestamp: record.timestamp, key: text(record.key), value: text(record.value) })),
  )
}

describe('legacy message sets: the test builder agrees with KafkaJS', () => {
  for (const magic of [0, 1] as const) {
    it(`builds the same magic ${magic} bytes as KafkaJS's MessageSet encoder`, () => {
      const entries = [
        { key: Buffer.from('k1'), value: Buffer.from('v1'), timestamp: 1_600_000_000_000 },
        { key: null, value: Buffer.from('v2'), timestamp: 1_600_000_000_001 },
      ]
      const ours = Buffer.concat(entries.map((entry) => legacyEntry({ offset: -1n, magic, timestamp: entry.timestamp, key: entry.key, value: entry.value })))
      assert.deepEqual(ours, kafkaJsMessageSet(magic, entries))
    })
  }
})

describe('legacy message sets (magic 0 and 1)', () => {
  it('decodes uncompressed magic 0 messages: one batch each, no timestamps, no headers', () => {
    const firstEntry = legacyEntry({ offset: 5n, magic: 0, key: Buffer.from('a'), value: Buffer.from('1') })
    const bytes = Buffer.concat([firstEntry, legacyEntry({ offset: 6n, magic: 0, key: null, value: null })])
    const { batches } = decodeRecordBatches(bytes)
    assert.equal(batches.length, 2)
    const [first] = batches
    assert.ok(first !== undefined)
    assert.equal(first.magic, 0)
    assert.equal(first.compression, 'none')
    assert.equal(first.producerId, -1n)
    assert.equal(first.baseOffset, 5n)
    assert.equal(first.lastOffset, 5n)
    assert.equal(first.sizeInBytes, firstEntry.length)
    assert.deepEqual(dataRecordsOf(first)[0]?.headers, [])
    assert.deepEqual(recordsOf(bytes), [
      { offset: 5n, timestamp: -1, key: 'a', value: '1' },
      { offset: 6n, timestamp: -1, key: null, value: null },
    ])
  })

  it('decodes uncompressed magic 1 messages with create and log-append timestamps', () => {
    const bytes = Buffer.concat([
      legacyEntry({ offset: 10n, magic: 1, timestamp: 1000, value: Buffer.from('x') }),
      legacyEntry({ offset: 11n, magic: 1, attributes: 0x08, timestamp: 2000, value: Buffer.from('y') }),
    ])
    const { batches } = decodeRecordBatches(bytes)
    assert.deepEqual(batches.map((batch) => batch.timestampType), ['create-time', 'log-append-time'])
    assert.deepEqual(batches.map((batch) => batch.maxTimestamp), [1000, 2000])
    assert.deepEqual(recordsOf(bytes).map((record) => record.timestamp), [1000, 2000])
  })

  it('decodes a KafkaJS gzip wrapper (magic 1): relative inner offsets made absolute from the wrapper offset', async () => {
    const entries = ['one', 'two', 'three'].map((value, i) => ({ key: `k${i}`, value, timestamp: 1_600_000_000_000 + i }))
    const inner = kafkaJsMessageSet(1, entries, true)
    const wrapper = kafkaJsMessageSet(1, [{ compression: 1, timestamp: 1_600_000_000_002, value: await kafkaJsGzip(inner) }])
    wrapper.writeBigInt64BE(41n, 0) // the broker gives the wrapper the absolute offset of the last inner message
    const { batches } = decodeRecordBatches(wrapper)
    assert.equal(batches.length, 1)
    assert.equal(batches[0]?.compression, 'gzip')
    assert.equal(batches[0]?.baseOffset, 39n)
    assert.equal(batches[0]?.lastOffset, 41n)
    assert.equal(batches[0]?.recordCount, 3)
    const expected = entries.map((entry, i) => ({ offset: 39n + BigInt(i), timestamp: entry.timestamp, key: entry.key, value: entry.value }))
    assert.deepEqual(recordsOf(wrapper), expected)
    // KafkaJS reads the same bytes the same way.
    const reference = await kafkaJsDecodeMessageSet(wrapper)
    assert.deepEqual(reference.map((message) => [message.offset, text(message.value)]), expected.map((record) => [String(record.offset), record.value]))
  })

  for (const codec of ['gzip', 'snappy', 'lz4'] satisfies CompressionCodec[]) {
    it(`decodes a ${codec} magic 1 wrapper under LogAppendTime: the wrapper's time for every record`, () => {
      const inner: LegacyMessageDraft[] = [0n, 1n].map((offset) => ({ offset, magic: 1, timestamp: 5, value: Buffer.from(`m${offset}`) }))
      const bytes = legacyWrapper({ offset: 100n, magic: 1, codec, timestamp: 9999, logAppendTime: true }, inner)
      assert.deepEqual(recordsOf(bytes), [
        { offset: 99n, timestamp: 9999, key: null, value: 'm0' },
        { offset: 100n, timestamp: 9999, key: null, value: 'm1' },
      ])
      assert.equal(decodeRecordBatches(bytes).batches[0]?.timestampType, 'log-append-time')
    })
  }

  it('decodes a magic 0 wrapper, whose inner offsets are already absolute', () => {
    const inner: LegacyMessageDraft[] = [7n, 8n, 9n].map((offset) => ({ offset, magic: 0, value: Buffer.from(`${offset}`) }))
    const bytes = legacyWrapper({ offset: 9n, magic: 0, codec: 'gzip' }, inner)
    assert.deepEqual(recordsOf(bytes).map((record) => record.offset), [7n, 8n, 9n])
  })

  it('decodes a fetch mixing legacy entries and v2 batches, with a cut-off tail', () => {
    const v2 = encodeRecordBatch({ records: [{ value: 'new', timestamp: 3 }], baseOffset: 3n })
    const tail = legacyEntry({ offset: 4n, magic: 1, timestamp: 4, value: Buffer.from('cut') })
    const bytes = Buffer.concat([
      legacyEntry({ offset: 1n, magic: 0, value: Buffer.from('old') }),
      legacyWrapper({ offset: 2n, magic: 1, codec: 'snappy', timestamp: 2 }, [{ offset: 0n, magic: 1, timestamp: 2, value: Buffer.from('mid') }]),
      v2,
      tail.subarray(0, tail.length - 1),
    ])
    const decoded = decodeRecordBatches(bytes)
    assert.deepEqual(decoded.batches.map((batch) => batch.magic), [0, 1, 2])
    assert.deepEqual(decoded.batches.flatMap((batch) => dataRecordsOf(batch).map((record) => text(record.value))), ['old', 'mid', 'new'])
    assert.equal(decoded.partialBatch?.baseOffset, 4n)
    assert.equal(decoded.partialBatch?.sizeInBytes, tail.length)
  })
})

describe('legacy message sets: bad input', () => {
  const plain = (): Buffer => legacyEntry({ offset: 1n, magic: 1, timestamp: 1, key: Buffer.from('key'), value: Buffer.from('value') })

  it('checks the CRC-32 unless told not to', () => {
    const bytes = plain()
    bytes[bytes.length - 1] = 0x21
    assertDecodeError(() => decodeRecordBatches(bytes), 'DECODE_CRC_MISMATCH')
    assert.equal(text(dataRecordsOf(decodeRecordBatches(bytes, { verifyCrc: false }).batches[0])[0]?.value ?? null), 'valu!')
  })

  it('rejects a key length that overruns the message', () => {
    const bytes = plain()
    bytes.writeInt32BE(1000, 26) // the key length, after framing (12), crc, magic, attributes, timestamp
    assertDecodeError(() => decodeRecordBatches(bytes, { verifyCrc: false }), 'DECODE_CORRUPT_RECORDS')
  })

  it('rejects a message with bytes left after its value', () => {
    const bytes = Buffer.concat([plain(), Buffer.from([0])])
    bytes.writeInt32BE(bytes.readInt32BE(8) + 1, 8)
    assertDecodeError(() => decodeRecordBatches(bytes, { verifyCrc: false }), 'DECODE_CORRUPT_RECORDS')
  })

  it('rejects an entry size below the smallest message', () => {
    const bytes = plain()
    bytes.writeInt32BE(13, 8)
    assertDecodeError(() => decodeRecordBatches(bytes), 'DECODE_CORRUPT_RECORDS')
  })

  it('rejects nested compression, mismatched inner magic, empty and null wrappers, truncated inner sets', () => {
    const nested = legacyWrapper({ offset: 5n, magic: 1, codec: 'gzip' }, [{ offset: 0n, magic: 1, attributes: 1, value: Buffer.from('x') }])
    assertDecodeError(() => decodeRecordBatches(nested), 'DECODE_CORRUPT_RECORDS')
    const mixedMagic = legacyWrapper({ offset: 5n, magic: 1, codec: 'gzip' }, [{ offset: 0n, magic: 0, value: Buffer.from('x') }])
    assertDecodeError(() => decodeRecordBatches(mixedMagic), 'DECODE_CORRUPT_RECORDS')
    assertDecodeError(() => decodeRecordBatches(legacyWrapper({ offset: 5n, magic: 1, codec: 'gzip' }, [])), 'DECODE_CORRUPT_RECORDS')
    const nullValue = legacyEntry({ offset: 5n, magic: 1, attributes: 1, value: null })
    assertDecodeError(() => decodeRecordBatches(nullValue), 'DECODE_CORRUPT_RECORDS')
    const innerSet = legacyEntry({ offset: 0n, magic: 1, value: Buffer.from('inner') })
    const truncated = legacyEntry({ offset: 5n, magic: 1, attributes: 1, value: gzipSync(innerSet.subarray(0, innerSet.length - 2)) })
    assertDecodeError(() => decodeRecordBatches(truncated), 'DECODE_CORRUPT_RECORDS')
  })

  it('rejects a corrupt compressed wrapper value with DECODE_COMPRESSION', () => {
    const bytes = legacyEntry({ offset: 5n, magic: 1, attributes: 2, value: Buffer.from('not snappy at all') })
    assertDecodeError(() => decodeRecordBatches(bytes), 'DECODE_COMPRESSION')
  })

  it('rejects an unknown magic at byte 16', () => {
    const bytes = plain()
    bytes[16] = 3
    assertDecodeError(() => decodeRecordBatches(bytes, { verifyCrc: false }), 'DECODE_UNSUPPORTED_VERSION')
  })
})
