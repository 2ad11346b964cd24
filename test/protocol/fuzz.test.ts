/**
 * Fuzzes every generated decoder: random bytes, and valid encodings that were truncated or had
 * bytes overwritten, inserted or removed. Whatever the input, a decoder must either return or
 * throw a `BatonError` (in practice `DecodeError`): a RangeError or TypeError escaping from a
 * decoder would crash a broker connection handler or a client's response loop instead of giving
 * the caller a typed error to act on.
 *
 * Valid encodings come from the decoders themselves: a `GeneratingReader` answers every read with
 * a pseudo-random value, so decoding "through" it yields a well-formed message of exactly the
 * shape that version has, which the generated encoder then turns into bytes. That keeps this test
 * free of any second description of the message schemas.
 *
 * Decoders are synchronous, so a hang cannot be interrupted; every call is timed instead, which
 * catches the super-linear work a forged length or count would cause.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import type { MessageCodec } from '../../src/protocol/codec-runtime.js'
import { BatonError, DecodeError } from '../../src/protocol/errors/base.js'
import { decodeRequestBody, decodeRequestHeader, decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/frame.js'
import * as generated from '../../src/protocol/generated/index.js'
import { Reader } from '../../src/protocol/primitives/reader.js'
import { Writer } from '../../src/protocol/primitives/writer.js'

/**
 * Runs per (message, version) and per input kind. 654 API message versions (88 APIs, both
 * directions) plus the embedded structures, 200 inputs each, take a few seconds.
 */
const RUNS = 100
/** A decode that takes longer than this on inputs of a few hundred bytes means super-linear work. */
const SLOW_DECODE_MS = 500

/** mulberry32: tiny, fast and good enough to pick field values. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const TEXT_ALPHABET = ['a', 'b', 'z', '0', '-', '.', '_', 'é', '日', '🙂']

/** Sizes that fit the fixed-width tagged fields (bool/int8, int16, int32, int64, uuid). */
const TAGGED_SIZES = [1, 2, 4, 8, 16]

/**
 * A Reader that reads nothing: every primitive is made up from a seeded PRNG. Arrays are kept
 * short so nested messages stay small.
 *
 * Tagged-field sections (KIP-482) are made up too, following the order in which
 * `readTaggedFields` reads them: a count, then per field a tag, a size (its only direct unsigned
 * varints) and that many raw bytes. A known tag's value is then decoded from those bytes by a real
 * Reader, which fails when they do not fit its type: callers retry with `tagged` off.
 */
class GeneratingReader extends Reader {
  private readonly random: () => number
  private readonly tagged: boolean
  private taggedLeft = 0
  private lastTag = -1
  private taggedStage: 'count' | 'tag' | 'size' | 'bytes' = 'count'

  constructor(seed: number, tagged = false) {
    super(Buffer.alloc(0))
    this.random = prng(seed)
    this.tagged = tagged
  }

  private int(min: number, max: number): number {
    const r = this.random()
    // Boundary values are where length and sign bugs live, so they come up often.
    if (r < 0.1) return -1 >= min ? -1 : min
    if (r < 0.2) return 0 >= min && 0 <= max ? 0 : min
    if (r < 0.25) return max
    if (r < 0.3) return min
    return min + Math.floor(this.random() * (max - min + 1))
  }

  private text(): string {
    const length = Math.floor(this.random() * 6)
    let s = ''
    for (let i = 0; i < length; i++) s += TEXT_ALPHABET[Math.floor(this.random() * TEXT_ALPHABET.length)]!
    return s
  }

  private blob(): Buffer {
    const bytes = Buffer.alloc(Math.floor(this.random() * 8))
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(this.random() * 256)
    return bytes
  }

  private isNull(): boolean {
    return this.random() < 0.2
  }

  override bool(): boolean {
    return this.random() < 0.5
  }
  override int8(): number {
    return this.int(-128, 127)
  }
  override uint8(): number {
    return this.int(0, 255)
  }
  override int16(): number {
    return this.int(-32768, 32767)
  }
  override uint16(): number {
    return this.int(0, 65535)
  }
  override int32(): number {
    return this.int(-2147483648, 2147483647)
  }
  override uint32(): number {
    return this.int(0, 4294967295)
  }
  override int64(): bigint {
    const r = this.random()
    if (r < 0.2) return -1n
    if (r < 0.3) return 0n
    return BigInt.asIntN(64, (BigInt(this.int32()) << 32n) | BigInt(this.uint32()))
  }
  override float64(): number {
    return this.random() < 0.2 ? 0 : (this.random() - 0.5) * 1e6
  }
  override uvarint(): number {
    switch (this.taggedStage) {
      case 'count': {
        const count = this.tagged && this.random() < 0.5 ? 1 + Math.floor(this.random() * 2) : 0
        if (count > 0) {
          this.taggedLeft = count
          this.lastTag = -1
          this.taggedStage = 'tag'
        }
        return count
      }
      case 'tag':
        this.lastTag += 1 + Math.floor(this.random() * 3)
        this.taggedStage = 'size'
        return this.lastTag
      case 'size':
        this.taggedStage = 'bytes'
        return TAGGED_SIZES[Math.floor(this.random() * TAGGED_SIZES.length)]!
      case 'bytes':
        return assert.fail('a generated tagged field size was not followed by its bytes')
    }
  }
  override varint(): number {
    return this.int32()
  }
  override varlong(): bigint {
    return this.int64()
  }
  override varlongNumber(): number {
    return this.int32()
  }
  override uuid(): Buffer {
    return this.raw(16)
  }
  override raw(size: number): Buffer {
    const bytes = Buffer.alloc(size)
    for (let i = 0; i < size; i++) bytes[i] = Math.floor(this.random() * 256)
    if (this.taggedStage === 'bytes') {
      this.taggedLeft--
      this.taggedStage = this.taggedLeft > 0 ? 'tag' : 'count'
      // 0x01 is a valid one-byte value of most types: true, 1, an empty compact string or array.
      if (size === 1 && this.random() < 0.5) bytes[0] = 1
    }
    return bytes
  }
  override string(): string {
    return this.text()
  }
  override nullableString(): string | null {
    return this.isNull() ? null : this.text()
  }
  override compactString(): string {
    return this.text()
  }
  override compactNullableString(): string | null {
    return this.isNull() ? null : this.text()
  }
  override bytes(): Buffer {
    return this.blob()
  }
  override nullableBytes(): Buffer | null {
    return this.isNull() ? null : this.blob()
  }
  override compactBytes(): Buffer {
    return this.blob()
  }
  override compactNullableBytes(): Buffer | null {
    return this.isNull() ? null : this.blob()
  }
  /** Never null: the reader cannot tell nullable arrays from others, and a null would fail the decode. */
  override arrayLength(): number {
    return Math.floor(this.random() * 3)
  }
}

/** A well-formed message of `codec` at `version` made from `seed`, and its encoding. */
function generate(codec: MessageCodec<unknown, unknown>, version: number, seed: number): { value: unknown; bytes: Buffer } {
  let value: unknown
  try {
    value = codec.decode(new GeneratingReader(seed, true), version)
  } catch (error) {
    // Made-up tagged bytes that do not fit a known tag's type; anything else is a real failure.
    if (!(error instanceof DecodeError)) throw error
    value = codec.decode(new GeneratingReader(seed, false), version)
  }
  const w = new Writer(64)
  codec.encode(w, value, version)
  return { value, bytes: w.finish() }
}

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'remove'; at: number; count: number }

/** Byte values that turn lengths into -1, huge counts or unterminated varints. */
const interestingByte = fc.oneof(fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff), fc.integer({ min: 0, max: 255 }))

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: interestingByte }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }) }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
)
const mutationsArb = fc.array(mutationArb, { minLength: 1, maxLength: 4 })

function mutate(input: Buffer, mutations: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(input)
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1)
    switch (m.kind) {
      case 'truncate':
        bytes = bytes.subarray(0, at)
        break
      case 'set':
        if (at < bytes.length) bytes[at] = m.value
        break
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)])
        break
      case 'remove':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.count)])
        break
    }
  }
  return bytes
}

/** Runs `decode` and fails unless it returns or throws a BatonError. Returns the time it took. */
function timedTypedOutcome(what: string, input: Buffer, decode: () => unknown): number {
  const started = performance.now()
  try {
    decode()
  } catch (error) {
    if (!(error instanceof BatonError)) {
      const name = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
      assert.fail(`${what} threw ${name} (not a BatonError) on ${input.toString('hex')}`)
    }
  }
  return performance.now() - started
}

/** As above, and quickly: a slow call is timed again so that one GC pause or busy machine is not a failure. */
function expectTypedOutcome(what: string, input: Buffer, decode: () => unknown): void {
  if (timedTypedOutcome(what, input, decode) < SLOW_DECODE_MS) return
  const elapsed = timedTypedOutcome(what, input, decode)
  assert.ok(elapsed < SLOW_DECODE_MS, `${what} took ${elapsed.toFixed(0)} ms on ${input.length} bytes: ${input.toString('hex')}`)
}

function decodeBody(codec: MessageCodec<unknown, unknown>, version: number, bytes: Buffer): unknown {
  const r = new Reader(bytes)
  const value = codec.decode(r, version)
  r.expectEnd('fuzzed message')
  return value
}

/** The properties every codec gets, at every version it has. */
function fuzzCodec(name: string, codec: MessageCodec<unknown, unknown>, min: number, max: number): void {
  for (let version = min; version <= max; version++) {
    const what = `${name} v${version}`
    // The base case must hold for mutations to mean anything: a valid encoding decodes to itself.
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const { value, bytes } = generate(codec, version, seed)
        assert.deepEqual(decodeBody(codec, version, bytes), value)
        assert.deepEqual(generate(codec, version, seed).bytes, bytes)
      }),
      { numRuns: 3 },
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (random) => {
        const input = Buffer.from(random)
        expectTypedOutcome(what, input, () => decodeBody(codec, version, input))
      }),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(fc.integer(), mutationsArb, (seed, mutations) => {
        const input = mutate(generate(codec, version, seed).bytes, mutations)
        expectTypedOutcome(what, input, () => decodeBody(codec, version, input))
      }),
      { numRuns: RUNS },
    )
  }
}

const CORRELATION_ID = 0x01020304

const { API_SPECS } = generated

describe('fuzz: generated API codecs', () => {
  for (const api of API_SPECS) {
    it(`${api.name} (key ${api.apiKey}) request and response decoders, v${api.minVersion}-v${api.maxVersion}, give only typed errors`, () => {
      fuzzCodec(`${api.name}Request`, api.request, api.minVersion, api.maxVersion)
      fuzzCodec(`${api.name}Response`, api.response, api.minVersion, api.maxVersion)
    })
  }
})

describe('fuzz: whole frames', () => {
  it('decodeRequestHeader + decodeRequestBody accept random bytes with typed errors only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (random) => {
        const frame = Buffer.from(random)
        expectTypedOutcome('request frame', frame, () => {
          const { header, api, body } = decodeRequestHeader(frame)
          if (api !== undefined) decodeRequestBody(api, header.requestApiVersion, body)
        })
      }),
      { numRuns: 2000 },
    )
  })

  it('mutated request frames of every API and version decode or fail with a typed error', () => {
    const apiVersionArb = fc
      .constantFrom(...API_SPECS)
      .chain((api) => fc.tuple(fc.constant(api), fc.integer({ min: api.minVersion, max: api.maxVersion })))
    fc.assert(
      fc.property(apiVersionArb, fc.integer(), mutationsArb, ([api, version], seed, mutations) => {
        const { value } = generate(api.request, version, seed)
        const frame = encodeRequest(api, version, { correlationId: CORRELATION_ID, clientId: 'fuzz' }, value).subarray(4)
        const original = decodeRequestHeader(frame)
        assert.equal(original.header.requestApiKey, api.apiKey)
        decodeRequestBody(api, version, original.body)
        const input = mutate(frame, mutations)
        expectTypedOutcome(`${api.name} v${version} request frame`, input, () => {
          const { header, api: found, body: reader } = decodeRequestHeader(input)
          if (found !== undefined) decodeRequestBody(found, header.requestApiVersion, reader)
        })
      }),
      { numRuns: 3000 },
    )
  })

  it('mutated response frames of every API and version decode or fail with a typed error', () => {
    const apiVersionArb = fc
      .constantFrom(...API_SPECS)
      .chain((api) => fc.tuple(fc.constant(api), fc.integer({ min: api.minVersion, max: api.maxVersion })))
    fc.assert(
      fc.property(apiVersionArb, fc.integer(), mutationsArb, ([api, version], seed, mutations) => {
        const { value } = generate(api.response, version, seed)
        const frame = encodeResponse(api, version, CORRELATION_ID, value).subarray(4)
        assert.equal(decodeResponse(api, version, frame).correlationId, CORRELATION_ID)
        const input = mutate(frame, mutations)
        expectTypedOutcome(`${api.name} v${version} response frame`, input, () => decodeResponse(api, version, input))
      }),
      { numRuns: 3000 },
    )
  })

  it('an unknown api key or version is reported as such, with the header still readable', () => {
    const frame = Buffer.from('7fff0000000000070004667a7a7a', 'hex')
    const { header, api } = decodeRequestHeader(frame)
    assert.equal(api, undefined)
    assert.equal(header.correlationId, 7)
    assert.equal(header.clientId, 'fzzz')
    const [produce] = API_SPECS
    assert.ok(produce)
    assert.throws(
      () => decodeRequestBody(produce, produce.maxVersion + 1, new Reader(Buffer.alloc(8))),
      (error: unknown) => error instanceof DecodeError && error.code === 'DECODE_UNSUPPORTED_VERSION',
    )
  })
})

function isCodec(value: unknown): value is MessageCodec<unknown, unknown> {
  return typeof value === 'object' && value !== null && 'encode' in value && 'decode' in value && typeof value.decode === 'function'
}

function isVersionRange(value: unknown): value is { min: number; max: number } {
  return typeof value === 'object' && value !== null && 'min' in value && 'max' in value && typeof value.min === 'number' && typeof value.max === 'number'
}

/** The structures that are not API messages (headers, consumer protocol, KRaft records): each `XCodec` with its `XVersions`. */
type Embedded = [name: string, codec: MessageCodec<unknown, unknown>, versions: { min: number; max: number }]

function embeddedCodecs(): Embedded[] {
  const exports: Record<string, unknown> = generated
  return Object.keys(exports).flatMap((key): Embedded[] => {
    if (!key.endsWith('Versions')) return []
    const name = key.slice(0, -'Versions'.length)
    const codec = exports[`${name}Codec`]
    const versions = exports[key]
    return isCodec(codec) && isVersionRange(versions) ? [[name, codec, versions]] : []
  })
}

describe('fuzz: embedded structures', () => {
  const embedded = embeddedCodecs()
  it('finds the generated structures that are not API messages', () => {
    const names = embedded.map(([name]) => name)
    for (const expected of ['RequestHeader', 'ResponseHeader', 'ConsumerProtocolSubscription', 'ConsumerProtocolAssignment']) {
      assert.ok(names.includes(expected), `${expected} not found among ${names.join(', ')}`)
    }
  })
  for (const [name, codec, versions] of embedded) {
    it(`${name} v${versions.min}-v${versions.max} gives only typed errors`, () => {
      fuzzCodec(name, codec, versions.min, versions.max)
    })
  }
})
