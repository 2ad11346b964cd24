/**
 * Helpers shared by the generated message codecs in `generated/`. They hold the parts of the
 * wire format that depend on a version's flexibility (compact or classic lengths) so each
 * generated field stays one line.
 */
import { DecodeError, EncodeError } from './errors/base.js'
import { Reader } from './primitives/reader.js'
import { Writer } from './primitives/writer.js'

export interface MessageCodec<T, TInit = T> {
  encode(writer: Writer, value: TInit, version: number): void
  decode(reader: Reader, version: number): T
}

/** What the generator knows about one API: its key, versions and the codecs of both directions. */
export interface ApiSpec<Req = unknown, ReqInit = unknown, Res = unknown, ResInit = unknown> {
  readonly apiKey: number
  readonly name: string
  readonly minVersion: number
  readonly maxVersion: number
  /** The newest version that is not marked unstable in Kafka's specs; the one to advertise and use. */
  readonly maxStableVersion: number
  /** First version with flexible (compact, tagged) encoding, or null if none is flexible. */
  readonly firstFlexibleVersion: number | null
  /** Which Kafka listeners serve the API; `broker` means ordinary clients may call it. */
  readonly listeners: readonly string[]
  readonly request: MessageCodec<Req, ReqInit>
  readonly response: MessageCodec<Res, ResInit>
}

export type RequestOf<A> = A extends ApiSpec<infer Req, unknown, unknown, unknown> ? Req : never
export type RequestInitOf<A> = A extends ApiSpec<unknown, infer ReqInit, unknown, unknown> ? ReqInit : never
export type ResponseOf<A> = A extends ApiSpec<unknown, unknown, infer Res, unknown> ? Res : never
export type ResponseInitOf<A> = A extends ApiSpec<unknown, unknown, unknown, infer ResInit> ? ResInit : never

export function isFlexible(api: Pick<ApiSpec, 'firstFlexibleVersion'>, version: number): boolean {
  return api.firstFlexibleVersion !== null && version >= api.firstFlexibleVersion
}

export function unsupportedField(message: string, field: string, version: number): never {
  throw new EncodeError(`${message}.${field} has a non-default value but version ${version} cannot carry it`)
}

export function nullNotAllowed(field: string): never {
  throw new EncodeError(`${field} is null but this version does not allow null`)
}

export function writeString(w: Writer, value: string | null, compact: boolean, nullable: boolean, field: string): void {
  if (value === null) {
    if (!nullable) nullNotAllowed(field)
    if (compact) w.uvarint(0)
    else w.int16(-1)
  } else if (compact) {
    w.compactString(value)
  } else {
    w.string(value)
  }
}

export function readString(r: Reader, compact: boolean): string {
  return compact ? r.compactString() : r.string()
}

export function readNullableString(r: Reader, compact: boolean): string | null {
  return compact ? r.compactNullableString() : r.nullableString()
}

export function writeBytes(w: Writer, value: Uint8Array | null, compact: boolean, nullable: boolean, field: string): void {
  if (value === null) {
    if (!nullable) nullNotAllowed(field)
    if (compact) w.uvarint(0)
    else w.int32(-1)
  } else if (compact) {
    w.compactBytes(value)
  } else {
    w.bytes(value)
  }
}

export function readBytes(r: Reader, compact: boolean): Buffer {
  return compact ? r.compactBytes() : r.bytes()
}

export function readNullableBytes(r: Reader, compact: boolean): Buffer | null {
  return compact ? r.compactNullableBytes() : r.nullableBytes()
}

export function writeArray<T>(
  w: Writer,
  items: readonly T[] | null,
  compact: boolean,
  nullable: boolean,
  field: string,
  writeItem: (item: T) => void,
): void {
  if (items === null) {
    if (!nullable) nullNotAllowed(field)
    w.arrayLength(null, compact)
    return
  }
  w.arrayLength(items.length, compact)
  for (const item of items) writeItem(item)
}

export function readArray<T>(r: Reader, compact: boolean, field: string, readItem: () => T): T[] {
  const length = r.arrayLength(compact, field)
  if (length === null) {
    throw new DecodeError('DECODE_INVALID_VALUE', `${field} is null in a version where it cannot be`)
  }
  const items = new Array<T>(length)
  for (let i = 0; i < length; i++) items[i] = readItem()
  return items
}

export function readNullableArray<T>(r: Reader, compact: boolean, field: string, readItem: () => T): T[] | null {
  const length = r.arrayLength(compact, field)
  if (length === null) return null
  const items = new Array<T>(length)
  for (let i = 0; i < length; i++) items[i] = readItem()
  return items
}

const ZERO_UUID = Buffer.alloc(16)
/** The all-zero UUID in Kafka's textual form (URL-safe base64 without padding). */
export const ZERO_UUID_STRING = ZERO_UUID.toString('base64url')

export function writeUuid(w: Writer, value: string): void {
  const bytes = Buffer.from(value, 'base64url')
  if (bytes.length !== 16) throw new EncodeError(`"${value}" is not a UUID in Kafka's base64url form (16 bytes)`)
  w.raw(bytes)
}

export function readUuid(r: Reader): string {
  return r.uuid().toString('base64url')
}

/** One tagged field to write: its tag and a function that writes its value. */
export type TaggedWrite = [tag: number, write: (w: Writer) => void]

/** Writes the tagged-field section of a flexible struct; `fields` must be in ascending tag order. */
export function writeTaggedFields(w: Writer, fields: readonly TaggedWrite[]): void {
  w.uvarint(fields.length)
  for (const [tag, write] of fields) {
    const body = new Writer(32)
    write(body)
    const bytes = body.finish()
    w.uvarint(tag)
    w.uvarint(bytes.length)
    w.raw(bytes)
  }
}

/**
 * Reads the tagged-field section. `readKnown` decodes a tag it knows (from a reader bounded to
 * that field's bytes) and returns false for tags it does not; unknown tags are skipped, which is
 * what lets old readers accept newer writers.
 */
export function readTaggedFields(r: Reader, readKnown: (tag: number, field: Reader) => boolean): void {
  const count = r.uvarint()
  let previous = -1
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint()
    if (tag <= previous) {
      throw new DecodeError('DECODE_INVALID_VALUE', `tagged fields out of order: tag ${tag} after ${previous}`)
    }
    previous = tag
    const size = r.uvarint()
    const body = r.raw(size, `tagged field ${tag}`)
    const fieldReader = new Reader(body)
    if (readKnown(tag, fieldReader)) fieldReader.expectEnd(`tagged field ${tag}`)
  }
}

export function skipTaggedFields(r: Reader): void {
  readTaggedFields(r, () => false)
}

/**
 * Wraps a message's generated encode/decode with a version check, so a version outside what
 * the spec defines fails with a typed error instead of producing bytes no broker can read.
 */
export function codec<T, TInit>(
  name: string,
  minVersion: number,
  maxVersion: number,
  encode: (w: Writer, value: TInit, version: number) => void,
  decode: (r: Reader, version: number) => T,
): MessageCodec<T, TInit> {
  return {
    encode(w, value, version) {
      if (!Number.isInteger(version) || version < minVersion || version > maxVersion) {
        throw new EncodeError(`${name} has versions ${minVersion}-${maxVersion}; cannot encode version ${version}`)
      }
      encode(w, value, version)
    },
    decode(r, version) {
      if (!Number.isInteger(version) || version < minVersion || version > maxVersion) {
        throw new DecodeError('DECODE_UNSUPPORTED_VERSION', `${name} has versions ${minVersion}-${maxVersion}; cannot decode version ${version}`)
      }
      return decode(r, version)
    },
  }
}
