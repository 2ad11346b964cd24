/** Emits the interfaces and functions of one struct of a message. */
import type { Field, MessageSpec, Struct } from './spec.js'
import {
  defaultExpression,
  fieldType,
  isDefaultExpression,
  isNullableAnywhere,
  isOptionalInInit,
  readField,
  versionCondition,
  writeField,
  type EmitContext,
} from './emit.js'

function flexibleDeclaration(spec: MessageSpec): string {
  if (spec.flexible === null) return '  const flexible = false'
  return `  const flexible = ${versionCondition(spec.flexible, spec.valid)}`
}

/** Names the version parameter `_version` when the body never reads it, as the lint rules ask. */
function finishFunction(lines: string[]): string {
  const body = lines.slice(1).join('\n')
  if (!/(?<![.\w])version\b(?!:)/.test(body)) lines[0] = lines[0]!.replace('version: number', '_version: number')
  return lines.join('\n')
}

export function emitInterfaces(struct: Struct, ctx: EmitContext): string {
  if (struct.fields.length === 0) {
    return `export type ${struct.typeName} = Record<string, never>\n\nexport type ${struct.typeName}Init = Record<string, never>`
  }
  const lines: string[] = []
  lines.push(`export interface ${struct.typeName} {`)
  for (const field of struct.fields) lines.push(`  ${field.property}: ${fieldType(field, false)}`)
  lines.push('}', '')
  lines.push(`export interface ${struct.typeName}Init {`)
  for (const field of struct.fields) {
    const optional = isOptionalInInit(field, ctx.spec) ? '?' : ''
    lines.push(`  ${field.property}${optional}: ${fieldType(field, true)}`)
  }
  lines.push('}')
  return lines.join('\n')
}

function valueOf(field: Field, ctx: EmitContext): string {
  if (!isOptionalInInit(field, ctx.spec)) return `v.${field.property}`
  // `??` would turn an explicit null into the default; nullable fields test for undefined only.
  if (isNullableAnywhere(field)) return `(v.${field.property} === undefined ? ${defaultExpression(field, ctx.imports)} : v.${field.property})`
  return `(v.${field.property} ?? ${defaultExpression(field, ctx.imports)})`
}

function taggedFields(struct: Struct): Field[] {
  return struct.fields.filter((f) => f.tagged !== null).sort((a, b) => (a.tag ?? 0) - (b.tag ?? 0))
}

export function emitEncode(struct: Struct, ctx: EmitContext): string {
  const { spec } = ctx
  const lines: string[] = []
  const fields = struct.fields
  const tagged = taggedFields(struct)
  const needsValue = fields.length > 0
  lines.push(`function encode${struct.typeName}(w: Writer, ${needsValue ? 'v' : '_v'}: ${struct.typeName}Init, version: number): void {`)
  const needsFlexible = spec.flexible !== null
  if (needsFlexible) lines.push(flexibleDeclaration(spec))
  for (const field of fields) {
    const inVersions = versionCondition(field.versions, spec.valid)
    // Tagged fields are tagged in every version they exist in (checked when the spec is loaded).
    const regular = field.tagged === null ? inVersions : 'false'
    const write = writeField(field, valueOf(field, ctx), 'w', ctx)
    const absentCheck =
      !field.ignorable && isOptionalInInit(field, spec) && inVersions !== 'true'
        ? `v.${field.property} !== undefined && !(${isDefaultExpression(field, `v.${field.property}`, ctx.imports)})`
        : null
    if (regular === 'true') lines.push(`  ${write}`)
    else if (regular !== 'false') lines.push(`  if (${regular}) {`, `    ${write}`, '  }')
    if (absentCheck !== null) {
      lines.push(`  if (!(${inVersions}) && ${absentCheck}) ${ctx.imports.use('unsupportedField')}('${struct.typeName}', '${field.name}', version)`)
    }
  }
  if (needsFlexible) {
    if (tagged.length === 0) {
      lines.push('  if (flexible) w.uvarint(0)')
    } else {
      lines.push('  if (flexible) {', `    const tagged: ${ctx.imports.use('TaggedWrite')}[] = []`)
      for (const field of tagged) {
        const value = valueOf(field, ctx)
        const condition = versionCondition(field.tagged, spec.valid)
        const push = [
          `const value = ${value}`,
          `if (!(${isDefaultExpression(field, 'value', ctx.imports)})) tagged.push([${field.tag}, (tw) => ${writeField(field, 'value', 'tw', ctx)}])`,
        ]
        if (condition === 'true') lines.push('    {', ...push.map((l) => `      ${l}`), '    }')
        else lines.push(`    if (${condition}) {`, ...push.map((l) => `      ${l}`), '    }')
      }
      lines.push(`    ${ctx.imports.use('writeTaggedFields')}(w, tagged)`, '  }')
    }
  }
  lines.push('}')
  return finishFunction(lines)
}

export function emitDecode(struct: Struct, ctx: EmitContext): string {
  const { spec } = ctx
  const lines: string[] = []
  const tagged = taggedFields(struct)
  const needsFlexible = spec.flexible !== null
  lines.push(`function decode${struct.typeName}(r: Reader, version: number): ${struct.typeName} {`)
  if (needsFlexible) lines.push(flexibleDeclaration(spec))
  const assign = tagged.length > 0 || needsFlexible ? `  const result: ${struct.typeName} = {` : '  return {'
  lines.push(assign)
  for (const field of struct.fields) {
    const regular = field.tagged === null ? versionCondition(field.versions, spec.valid) : 'false'
    const fallback = (): string => defaultExpression(field, ctx.imports)
    if (regular === 'false') lines.push(`    ${field.property}: ${fallback()},`)
    else if (regular === 'true') lines.push(`    ${field.property}: ${readField(field, 'r', ctx)},`)
    else lines.push(`    ${field.property}: ${regular} ? ${readField(field, 'r', ctx)} : ${fallback()},`)
  }
  if (!(tagged.length > 0 || needsFlexible)) {
    lines.push('  }', '}')
    return finishFunction(lines)
  }
  lines.push('  }')
  if (tagged.length === 0) {
    lines.push(`  if (flexible) ${ctx.imports.use('skipTaggedFields')}(r)`)
  } else {
    lines.push(`  if (flexible) {`, `    ${ctx.imports.use('readTaggedFields')}(r, (tag, tr) => {`, '      switch (tag) {')
    for (const field of tagged) {
      const condition = versionCondition(field.tagged, spec.valid)
      lines.push(`        case ${field.tag}:`)
      if (condition !== 'true') lines.push(`          if (!(${condition})) return false`)
      lines.push(`          result.${field.property} = ${readField(field, 'tr', ctx)}`, '          return true')
    }
    lines.push('        default:', '          return false', '      }', '    })', '  }')
  }
  lines.push('  return result', '}')
  return finishFunction(lines)
}

/** A fresh struct holding every field's default, for struct-typed fields a version lacks. */
export function emitDefault(struct: Struct, ctx: EmitContext): string {
  const lines = [`export function default${struct.typeName}(): ${struct.typeName} {`, '  return {']
  for (const field of struct.fields) lines.push(`    ${field.property}: ${defaultExpression(field, ctx.imports)},`)
  lines.push('  }', '}')
  return lines.join('\n')
}

/** Whether a struct holds only defaults: tagged struct fields are sent only when they do not. */
export function emitIsDefault(struct: Struct, ctx: EmitContext): string {
  const checks = struct.fields.map((field) => {
    const value = `v.${field.property}`
    return `(${value} === undefined || ${isDefaultExpression(field, value, ctx.imports)})`
  })
  const body = checks.length === 0 ? 'true' : checks.join(' &&\n    ')
  return [`function isDefault${struct.typeName}(${checks.length === 0 ? '_v' : 'v'}: ${struct.typeName}Init): boolean {`, `  return ${body}`, '}'].join('\n')
}
