/**
 * Turns a `MessageSpec` into TypeScript: one interface for the decoded shape of each struct (every
 * field present), one `Init` interface for building it (fields with defaults optional), and
 * encode/decode functions that branch on the version at run time.
 */
import type { Field, FieldType, MessageSpec, Primitive, Struct, VersionRange } from './spec.js'

/** Collects the runtime helpers a module uses, so it imports exactly those. */
export class Imports {
  readonly runtime = new Set<string>()
  use(name: string): string {
    this.runtime.add(name)
    return name
  }
}

const NUMERIC: Record<string, string> = { int8: 'int8', int16: 'int16', uint16: 'uint16', int32: 'int32', float64: 'float64' }

function covers(range: VersionRange | null, valid: VersionRange): boolean {
  return range !== null && range.min <= valid.min && range.max >= valid.max
}

/** A boolean expression for "version is in range", simplified against the message's valid versions. */
export function versionCondition(range: VersionRange | null, valid: VersionRange): string {
  if (range === null || range.min > valid.max || range.max < valid.min) return 'false'
  const parts: string[] = []
  if (range.min > valid.min) parts.push(`version >= ${range.min}`)
  if (range.max < valid.max) parts.push(`version <= ${range.max}`)
  return parts.length === 0 ? 'true' : parts.join(' && ')
}

function primitiveType(name: Primitive, init: boolean): string {
  switch (name) {
    case 'bool':
      return 'boolean'
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'float64':
      return 'number'
    case 'int64':
      return 'bigint'
    case 'string':
    case 'uuid':
      return 'string'
    case 'bytes':
    case 'records':
      return init ? 'Uint8Array' : 'Buffer'
  }
}

function structName(struct: Struct, init: boolean): string {
  return init ? `${struct.typeName}Init` : struct.typeName
}

export function isNullableAnywhere(field: Field): boolean {
  return field.nullable !== null || (field.type.kind === 'primitive' && field.type.name === 'records')
}

export function fieldType(field: Field, init: boolean): string {
  const t = field.type
  let base: string
  if (t.kind === 'primitive') base = primitiveType(t.name, init)
  else if (t.kind === 'struct') base = structName(t.struct, init)
  else {
    const element = t.element.kind === 'primitive' ? primitiveType(t.element.name, init) : structName(t.element.struct, init)
    base = init ? `readonly ${element}[]` : `${element}[]`
  }
  return isNullableAnywhere(field) ? `${base} | null` : base
}

export function defaultExpression(field: Field, imports: Imports): string {
  const t = field.type
  const d = field.defaultValue
  if (d === 'null') return 'null'
  if (t.kind === 'array') return '[]'
  if (t.kind === 'struct') return `default${t.struct.typeName}()`
  switch (t.name) {
    case 'bool':
      return d === true || d === 'true' ? 'true' : 'false'
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'float64':
      return d === undefined ? '0' : String(Number(d))
    case 'int64':
      return d === undefined ? '0n' : `${BigInt(d)}n`
    case 'string':
      return JSON.stringify(d === undefined ? '' : String(d))
    case 'uuid':
      return imports.use('ZERO_UUID_STRING')
    case 'bytes':
      return 'Buffer.alloc(0)'
    case 'records':
      return 'null'
  }
}

/** Whether an `Init` may omit the field: it has a default, is tagged, or some versions lack it. */
export function isOptionalInInit(field: Field, spec: MessageSpec): boolean {
  return field.defaultValue !== undefined || field.tagged !== null || !covers(field.versions, spec.valid) || isNullableAnywhere(field)
}

/** A boolean expression that is true when `value` equals the field's default (so it need not be sent). */
export function isDefaultExpression(field: Field, value: string, imports: Imports): string {
  const t = field.type
  if (field.defaultValue === 'null') return `${value} === null`
  if (t.kind === 'array') return `(${value} !== null && ${value}.length === 0)`
  if (t.kind === 'struct') return `(${value} !== null && isDefault${t.struct.typeName}(${value}))`
  switch (t.name) {
    case 'bytes':
      return `(${value} !== null && ${value}.length === 0)`
    case 'records':
      return `${value} === null`
    default:
      return `${value} === ${defaultExpression(field, imports)}`
  }
}

export interface EmitContext {
  spec: MessageSpec
  imports: Imports
}

/** The versions in which a field is actually read or written: its own range within the message's. */
function fieldRange(field: Field, ctx: EmitContext): VersionRange {
  const valid = ctx.spec.valid
  if (field.versions === null) return valid
  return { min: Math.max(valid.min, field.versions.min), max: Math.min(valid.max, field.versions.max) }
}

function compactExpression(field: Field, ctx: EmitContext): string {
  if (field.flexible === undefined) return ctx.spec.flexible === null ? 'false' : 'flexible'
  return versionCondition(field.flexible, fieldRange(field, ctx))
}

function nullableExpression(field: Field, ctx: EmitContext): string {
  return versionCondition(field.nullable, fieldRange(field, ctx))
}

function writeElement(element: FieldType & { kind: 'primitive' | 'struct' }, value: string, w: string, field: Field, ctx: EmitContext): string {
  if (element.kind === 'struct') return `encode${element.struct.typeName}(${w}, ${value}, version)`
  return writePrimitive(element.name, value, w, field, ctx, 'false')
}

function writePrimitive(name: Primitive, value: string, w: string, field: Field, ctx: EmitContext, nullable: string): string {
  const label = `'${field.name}'`
  if (name === 'bool' || name === 'int64' || NUMERIC[name]) return `${w}.${name === 'bool' ? 'bool' : name}(${value})`
  if (name === 'string') return `${ctx.imports.use('writeString')}(${w}, ${value}, ${compactExpression(field, ctx)}, ${nullable}, ${label})`
  if (name === 'uuid') return `${ctx.imports.use('writeUuid')}(${w}, ${value})`
  return `${ctx.imports.use('writeBytes')}(${w}, ${value}, ${compactExpression(field, ctx)}, ${nullable}, ${label})`
}

export function writeField(field: Field, value: string, w: string, ctx: EmitContext): string {
  const t = field.type
  const nullable = nullableExpression(field, ctx)
  if (t.kind === 'primitive') return writePrimitive(t.name, value, w, field, ctx, t.name === 'records' ? 'true' : nullable)
  if (t.kind === 'struct') {
    if (field.nullable === null) return `encode${t.struct.typeName}(${w}, ${value}, version)`
    // A nullable struct carries a presence byte: -1 for null, 1 for a value.
    const guard = nullable === 'true' ? '' : `if (!(${nullable})) ${ctx.imports.use('nullNotAllowed')}('${field.name}'); `
    return `{ const present = ${value}; if (present === null) { ${guard}${w}.int8(-1) } else { ${w}.int8(1); encode${t.struct.typeName}(${w}, present, version) } }`
  }
  const item = writeElement(t.element, 'item', w, field, ctx)
  return `${ctx.imports.use('writeArray')}(${w}, ${value}, ${compactExpression(field, ctx)}, ${nullable}, '${field.name}', (item) => ${item})`
}

function readPrimitive(name: Primitive, r: string, field: Field, ctx: EmitContext, nullableWhen: string): string {
  if (name === 'bool' || name === 'int64' || NUMERIC[name]) return `${r}.${name}()`
  if (name === 'uuid') return `${ctx.imports.use('readUuid')}(${r})`
  const kind = name === 'string' ? 'String' : 'Bytes'
  const compact = compactExpression(field, ctx)
  const plain = (): string => `${ctx.imports.use(`read${kind}`)}(${r}, ${compact})`
  const nullable = (): string => `${ctx.imports.use(`readNullable${kind}`)}(${r}, ${compact})`
  if (nullableWhen === 'false') return plain()
  if (nullableWhen === 'true') return nullable()
  return `(${nullableWhen} ? ${nullable()} : ${plain()})`
}

export function readField(field: Field, r: string, ctx: EmitContext): string {
  const t = field.type
  const nullableWhen = t.kind === 'primitive' && t.name === 'records' ? 'true' : nullableExpression(field, ctx)
  if (t.kind === 'primitive') return readPrimitive(t.name, r, field, ctx, nullableWhen)
  if (t.kind === 'struct') {
    const decode = `decode${t.struct.typeName}(${r}, version)`
    if (field.nullable === null) return decode
    return `(${r}.int8() < 0 ? null : ${decode})`
  }
  const element = t.element.kind === 'struct' ? `decode${t.element.struct.typeName}(${r}, version)` : readPrimitive(t.element.name, r, field, ctx, 'false')
  const compact = compactExpression(field, ctx)
  const plain = (): string => `${ctx.imports.use('readArray')}(${r}, ${compact}, '${field.name}', () => ${element})`
  const nullable = (): string => `${ctx.imports.use('readNullableArray')}(${r}, ${compact}, '${field.name}', () => ${element})`
  if (nullableWhen === 'false') return plain()
  if (nullableWhen === 'true') return nullable()
  return `(${nullableWhen} ? ${nullable()} : ${plain()})`
}
