/**
 * Reads Kafka's JSON message specs into a small typed model. The specs are JSON with `//`
 * comments; comments and "about" texts are dropped here and never reach the generated code.
 */
import { readFileSync } from 'node:fs'

export interface VersionRange {
  min: number
  /** Inclusive; `Infinity` for an open range such as "3+". */
  max: number
}

export interface RawField {
  name: string
  type: string
  versions: string
  nullableVersions?: string
  taggedVersions?: string
  flexibleVersions?: string
  tag?: number
  default?: string | number | boolean
  ignorable?: boolean
  fields?: RawField[]
}

export interface RawSpec {
  apiKey?: number
  type: 'request' | 'response' | 'header' | 'data'
  name: string
  listeners?: string[]
  validVersions: string
  flexibleVersions: string
  deprecatedVersions?: string
  latestVersionUnstable?: boolean
  fields: RawField[]
  commonStructs?: { name: string; versions: string; fields: RawField[] }[]
}

export type Primitive = 'bool' | 'int8' | 'int16' | 'uint16' | 'int32' | 'int64' | 'float64' | 'string' | 'bytes' | 'records' | 'uuid'

export type FieldType =
  | { kind: 'primitive'; name: Primitive }
  | { kind: 'struct'; struct: Struct }
  | { kind: 'array'; element: { kind: 'primitive'; name: Primitive } | { kind: 'struct'; struct: Struct } }

export interface Field {
  name: string
  property: string
  type: FieldType
  versions: VersionRange | null
  nullable: VersionRange | null
  tagged: VersionRange | null
  tag: number | null
  /** Overrides the message's flexible versions for this field (Kafka uses it for the header's ClientId). */
  flexible: VersionRange | null | undefined
  defaultValue: string | number | boolean | undefined
  ignorable: boolean
}

export interface Struct {
  /** The generated TypeScript name, prefixed with the message name so names never collide. */
  typeName: string
  fields: Field[]
}

export interface MessageSpec {
  name: string
  kind: RawSpec['type']
  apiKey: number | null
  listeners: string[]
  valid: VersionRange
  flexible: VersionRange | null
  latestVersionUnstable: boolean
  root: Struct
  /** Every struct in the message, root last, in a stable order. */
  structs: Struct[]
}

const PRIMITIVES = new Set<string>(['bool', 'int8', 'int16', 'uint16', 'int32', 'int64', 'float64', 'string', 'bytes', 'records', 'uuid'])

export function parseVersions(text: string | undefined): VersionRange | null {
  if (text === undefined || text === 'none') return null
  if (text.endsWith('+')) return { min: Number(text.slice(0, -1)), max: Infinity }
  const dash = text.indexOf('-')
  if (dash === -1) return { min: Number(text), max: Number(text) }
  return { min: Number(text.slice(0, dash)), max: Number(text.slice(dash + 1)) }
}

/** Strips `//` line comments that sit outside strings. */
export function stripComments(source: string): string {
  let out = ''
  let inString = false
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]
    if (inString) {
      out += ch
      if (ch === '\\') out += source[++i] ?? ''
      else if (ch === '"') inString = false
    } else if (ch === '"') {
      inString = true
      out += ch
    } else if (ch === '/' && source[i + 1] === '/') {
      while (i < source.length && source[i] !== '\n') i++
      out += '\n'
    } else {
      out += ch
    }
  }
  return out
}

export function camelCase(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1)
}

export function loadSpec(path: string): MessageSpec {
  const raw = JSON.parse(stripComments(readFileSync(path, 'utf8'))) as RawSpec
  const structs: Struct[] = []
  const common = new Map<string, RawField[]>()
  for (const cs of raw.commonStructs ?? []) common.set(cs.name, cs.fields)
  const built = new Map<string, Struct>()

  const buildStruct = (typeName: string, rawFields: RawField[]): Struct => {
    const existing = built.get(typeName)
    if (existing) return existing
    const struct: Struct = { typeName, fields: [] }
    built.set(typeName, struct)
    struct.fields = rawFields.map(toField)
    structs.push(struct)
    return struct
  }

  const toType = (field: RawField): FieldType => {
    const isArray = field.type.startsWith('[]')
    const base = isArray ? field.type.slice(2) : field.type
    let element: FieldType & { kind: 'primitive' | 'struct' }
    if (PRIMITIVES.has(base)) {
      element = { kind: 'primitive', name: base as Primitive }
    } else {
      const fields = field.fields ?? common.get(base)
      if (!fields) throw new Error(`${raw.name}: struct ${base} has no fields and is not a common struct`)
      element = { kind: 'struct', struct: buildStruct(raw.name + base, fields) }
    }
    return isArray ? { kind: 'array', element } : element
  }

  const toField = (field: RawField): Field => {
    const versions = parseVersions(field.versions)
    const tagged = parseVersions(field.taggedVersions)
    // The emitter relies on this: a tagged field is tagged in every version it exists in.
    if (tagged && (!versions || tagged.min !== versions.min || tagged.max !== versions.max)) {
      throw new Error(`${raw.name}.${field.name}: taggedVersions differ from versions, which the generator does not support`)
    }
    return {
    name: field.name,
    property: camelCase(field.name),
    type: toType(field),
    versions,
    nullable: parseVersions(field.nullableVersions),
    tagged,
    tag: field.tag ?? null,
    flexible: field.flexibleVersions === undefined ? undefined : parseVersions(field.flexibleVersions),
    defaultValue: field.default,
    ignorable: field.ignorable ?? false,
    }
  }

  const valid = parseVersions(raw.validVersions)
  if (!valid) throw new Error(`${raw.name}: no valid versions`)
  const root = buildStruct(raw.name, raw.fields)
  return {
    name: raw.name,
    kind: raw.type,
    apiKey: raw.apiKey ?? null,
    listeners: raw.listeners ?? [],
    valid,
    flexible: parseVersions(raw.flexibleVersions),
    latestVersionUnstable: raw.latestVersionUnstable ?? false,
    root,
    structs,
  }
}
