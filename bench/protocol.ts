/**
 * Record batch encode/decode throughput: baton against KafkaJS 2.2.4's codec, in the same run.
 *
 * Batches of 100 records with 16-byte keys and 1 KiB values, uncompressed (the comparison that
 * matters: no compression library in the way) and gzip (the one codec KafkaJS ships) for
 * information (lz4 and zstd, which KafkaJS lacks, are measured for baton alone). Throughput counts record payload (key + value bytes) per second, the same measure
 * for both libraries. Each case warms up, then runs a fixed number of iterations in several
 * rounds; the median round is reported. Total run time stays well under 30 s.
 *
 *   npm run bench:protocol
 */
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { decodeRecordBatches, encodeRecordBatch, type CompressionCodec, type RecordInput } from '../src/protocol/records/index.js'

const require = createRequire(import.meta.url)

interface KafkaJsEncoder {
  buffer: Buffer
}
interface KafkaJsRecordFields {
  offsetDelta: number
  timestampDelta: number
  key: Buffer | null
  value: Buffer | null
  headers?: Record<string, Buffer>
}
interface KafkaJsBatchFields {
  compression: number
  records: KafkaJsEncoder[]
  firstOffset?: string
  firstTimestamp: number
  maxTimestamp: number
  lastOffsetDelta: number
}
interface KafkaJsDecodedBatch {
  records: unknown[]
}
type KafkaJsRecord = (fields: KafkaJsRecordFields) => KafkaJsEncoder
type KafkaJsRecordBatch = (fields: KafkaJsBatchFields) => Promise<KafkaJsEncoder>
type KafkaJsDecoderClass = new (buffer: Buffer) => unknown
type KafkaJsBatchDecoder = (decoder: unknown) => Promise<KafkaJsDecodedBatch>

const kafkaJsRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as KafkaJsRecord
const { RecordBatch: kafkaJsRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as { RecordBatch: KafkaJsRecordBatch }
const KafkaJsDecoder = require('kafkajs/src/protocol/decoder.js') as KafkaJsDecoderClass
const kafkaJsDecodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as KafkaJsBatchDecoder
const KAFKAJS_CODEC_IDS: Partial<Record<CompressionCodec, number>> = { none: 0, gzip: 1 }

const RECORDS_PER_BATCH = 100
const KEY_BYTES = 16
const VALUE_BYTES = 1024
const ROUNDS = 7
const BASE_TIMESTAMP = 1_700_000_000_000

/** Deterministic text-like bytes: compressible the way JSON payloads are, without being trivial. */
function makeValue(seed: number, size: number): Buffer {
  const words = ['order', 'customer', 'amount', 'status', 'created', 'shipped', 'warehouse', 'priority', '{', '}', ':', ',']
  const parts: string[] = []
  let state = seed * 2654435761 >>> 0
  let length = 0
  while (length < size) {
    state = (state * 1103515245 + 12345) >>> 0
    const word = `${words[state % words.length]}${state % 997} `
    parts.push(word)
    length += word.length
  }
  return Buffer.from(parts.join('').slice(0, size))
}

const records: RecordInput[] = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({
  key: Buffer.from(`key-${String(i).padStart(12, '0')}`),
  value: makeValue(i, VALUE_BYTES),
  timestamp: BASE_TIMESTAMP + i,
}))
const payloadBytesPerBatch = RECORDS_PER_BATCH * (KEY_BYTES + VALUE_BYTES)

async function kafkaJsEncode(compression: CompressionCodec): Promise<Buffer> {
  const codec = KAFKAJS_CODEC_IDS[compression]
  if (codec === undefined) throw new Error(`KafkaJS has no built-in ${compression} codec`)
  const encoded = records.map((record, i) =>
    kafkaJsRecord({
      offsetDelta: i,
      timestampDelta: record.timestamp - BASE_TIMESTAMP,
      key: record.key as Buffer,
      value: record.value as Buffer,
    }),
  )
  const batch = await kafkaJsRecordBatch({
    compression: codec,
    records: encoded,
    firstTimestamp: BASE_TIMESTAMP,
    maxTimestamp: BASE_TIMESTAMP + RECORDS_PER_BATCH - 1,
    lastOffsetDelta: RECORDS_PER_BATCH - 1,
  })
  return batch.buffer
}

/** Calls `operation` n times, awaiting KafkaJS's promises but not baton's plain results (an await costs a microtask). */
async function run(operation: () => unknown, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const result = operation()
    if (result instanceof Promise) await result
  }
}

/**
 * Measures several operations over the same payload: a warm-up each, then `ROUNDS` rounds of
 * `iterations` calls, the operations taking turns within each round so that drift (GC pressure,
 * CPU frequency, a noisy neighbour) hits them alike. Returns each one's median MB/s.
 */
async function measure(iterations: number, operations: (() => unknown)[]): Promise<number[]> {
  for (const operation of operations) {
    await run(operation, Math.max(20, iterations / 5))
  }
  const rates: number[][] = operations.map(() => [])
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, operation] of operations.entries()) {
      const started = performance.now()
      await run(operation, iterations)
      const seconds = (performance.now() - started) / 1000
      rates[index]!.push((payloadBytesPerBatch * iterations) / seconds / 1e6)
    }
  }
  return rates.map((samples) => samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!)
}

function row(label: string, baton: number, kafkaJs: number | null): string {
  const ratio = kafkaJs === null ? '' : `${(baton / kafkaJs).toFixed(2)}x`
  const peer = kafkaJs === null ? '-' : kafkaJs.toFixed(0)
  return `${label.padEnd(34)} ${baton.toFixed(0).padStart(8)} ${peer.padStart(8)} ${ratio.padStart(8)}`
}

async function main(): Promise<void> {
  console.log(`record batches: ${RECORDS_PER_BATCH} records x (${KEY_BYTES} B key + ${VALUE_BYTES} B value), Node ${process.version}`)
  console.log(`${'MB/s of record payload'.padEnd(34)} ${'baton'.padStart(8)} ${'KafkaJS'.padStart(8)} ${'ratio'.padStart(8)}`)
  const cases: { codec: CompressionCodec; iterations: number }[] = [
    { codec: 'none', iterations: 1000 },
    { codec: 'gzip', iterations: 60 },
  ]
  for (const { codec, iterations } of cases) {
    const batonBytes = encodeRecordBatch({ records, compression: codec })
    const kafkaJsBytes = await kafkaJsEncode(codec)
    // Sanity: baton reads KafkaJS's bytes, so both decode equivalent input.
    const check = decodeRecordBatches(kafkaJsBytes).batches[0]
    if (check?.records.length !== RECORDS_PER_BATCH) throw new Error('baton could not decode KafkaJS bytes')

    const [batonEncode = 0, kafkaJsEncodeRate = 0] = await measure(iterations, [
      () => encodeRecordBatch({ records, compression: codec }),
      () => kafkaJsEncode(codec),
    ])
    console.log(row(`encode ${codec}`, batonEncode, kafkaJsEncodeRate))

    const [batonDecode = 0, batonNoCrc = 0, kafkaJsDecode = 0] = await measure(iterations, [
      () => decodeRecordBatches(batonBytes),
      () => decodeRecordBatches(batonBytes, { verifyCrc: false }),
      () => kafkaJsDecodeBatch(new KafkaJsDecoder(kafkaJsBytes)),
    ])
    console.log(row(`decode ${codec} (CRC checked)`, batonDecode, kafkaJsDecode))
    console.log(row(`decode ${codec} (no CRC, as KafkaJS)`, batonNoCrc, kafkaJsDecode))
  }
  // Codecs KafkaJS does not ship: baton alone, for information.
  for (const codec of ['lz4', 'zstd'] satisfies CompressionCodec[]) {
    const batonBytes = encodeRecordBatch({ records, compression: codec })
    const [encode = 0, decode = 0] = await measure(150, [
      () => encodeRecordBatch({ records, compression: codec }),
      () => decodeRecordBatches(batonBytes),
    ])
    console.log(row(`encode ${codec}`, encode, null))
    console.log(row(`decode ${codec} (CRC checked)`, decode, null))
  }
}

await main()
