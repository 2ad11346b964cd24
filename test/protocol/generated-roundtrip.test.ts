/**
 * Every generated message, at every version it supports, survives encode → decode unchanged, and
 * decode → encode reproduces the bytes. Values are drawn from Kafka's JSON specs themselves (read
 * independently of the generator's emitter), so a field the emitter mishandles at some version
 * shows up as a mismatch here.
 */
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { loadSpec, type Field, type MessageSpec, type Struct } from '../../scripts/protocol-generator/spec.js'
import type { MessageCodec } from '../../src/protocol/codec-runtime.js'
import * as generated from '../../src/protocol/generated/index.js'
import { Reader } from '../../src/protocol/primitives/reader.js'
import { Writer } from '../../src/protocol/primitives/writer.js'
import { SPEC_DIR } from './spec-dir.js'

const ZERO_UUID = Buffer.alloc(16).toString('base64url')

function inRange(range: { min: number; max: number } | null, version: number): boolean {
  return range !== null && version >= range.min && version <= range.max
}

/** The value a decoder produces for a field the version does not carry. */
function defaultFor(field: Field): unknown {
  const d = field.defaultValue
  if (d === 'null') return null
  const t = field.type
  if (t.kind === 'array') return []
  if (t.kind === 'struct') return Object.fromEntries(t.struct.fields.map((f) => [f.property, defaultFor(f)]))
  switch (t.name) {
    case 'bool':
      return d === true || d === 'true'
    case 'int64':
      return d === undefined ? 0n : BigInt(d)
    case 'string':
      return d === undefined ? '' : String(d)
    case 'uuid':
      return ZERO_UUID
    case 'bytes':
      return Buffer.alloc(0)
    case 'records':
      return null
    default:
      return d === undefined ? 0 : Number(d)
  }
}

const primitive: Record<string, fc.Arbitrary<unknown>> = {
  bool: fc.boolean(),
  int8: fc.integer({ min: -128, max: 127 }),
  int16: fc.integer({ min: -32768, max: 32767 }),
  uint16: fc.integer({ min: 0, max: 65535 }),
  int32: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  int64: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  float64: fc.double({ noNaN: true }),
  string: fc.string({ maxLength: 12, unit: 'grapheme' }),
  uuid: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url')),
  bytes: fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
  records: fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b)),
}

function structArbitrary(struct: Struct, version: number, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const entries: Record<string, fc.Arbitrary<unknown>> = {}
  for (const field of struct.fields) {
    entries[field.property] = inRange(field.versions, version) ? fieldArbitrary(field, version, depth) : fc.constant(defaultFor(field))
  }
  return fc.record(entries, { noNullPrototype: true })
}

function fieldArbitrary(field: Field, version: number, depth: number): fc.Arbitrary<unknown> {
  const t = field.type
  let value: fc.Arbitrary<unknown>
  if (t.kind === 'primitive') value = primitive[t.name]!
  else if (t.kind === 'struct') value = structArbitrary(t.struct, version, depth + 1)
  else {
    const element = t.element.kind === 'primitive' ? primitive[t.element.name]! : structArbitrary(t.element.struct, version, depth + 1)
    value = fc.array(element, { maxLength: depth > 2 ? 0 : 3 })
  }
  const nullable = inRange(field.nullable, version) || (t.kind === 'primitive' && t.name === 'records')
  return nullable ? fc.option(value, { nil: null, freq: 4 }) : value
}

function encode(codec: MessageCodec<unknown, unknown>, value: unknown, version: number): Buffer {
  const w = new Writer(64)
  codec.encode(w, value, version)
  return Buffer.from(w.finish())
}

function decode(codec: MessageCodec<unknown, unknown>, bytes: Buffer, version: number): unknown {
  const r = new Reader(bytes)
  const value = codec.decode(r, version)
  r.expectEnd('message')
  return value
}

function codecFor(spec: MessageSpec): MessageCodec<unknown, unknown> {
  const codec = (generated as Record<string, unknown>)[`${spec.name}Codec`]
  assert.ok(codec, `no generated codec for ${spec.name}`)
  return codec as MessageCodec<unknown, unknown>
}

const specs = readdirSync(SPEC_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => loadSpec(join(SPEC_DIR, f)))

describe('generated codecs round-trip at every version', () => {
  for (const spec of specs) {
    it(`${spec.name} v${spec.valid.min}-${spec.valid.max}`, () => {
      const codec = codecFor(spec)
      for (let version = spec.valid.min; version <= spec.valid.max; version++) {
        fc.assert(
          fc.property(structArbitrary(spec.root, version, 0), (value) => {
            const bytes = encode(codec, value, version)
            const decoded = decode(codec, bytes, version)
            assert.deepStrictEqual(decoded, value, `${spec.name} v${version}`)
            assert.deepStrictEqual(encode(codec, decoded, version), bytes, `${spec.name} v${version} re-encode`)
          }),
          { numRuns: 25 },
        )
      }
    })
  }
})
