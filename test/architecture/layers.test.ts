/**
 * The layering rule, read from the sources.
 * Invariants: each layer imports only the layers below it (DESIGN.md's table: the broker and the
 * client never import each other); processing, the lab and the CLI reach another layer only
 * through that layer's public entry (`src/<layer>/index.ts`), never a file inside it, so a layer's
 * insides can change without breaking the layers above.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { graph, layerOf, sourceFiles, type SourceImport } from './source-graph.js'

/** Which layers each layer may import, from DESIGN.md. `testing` and the root are package entries over the layers. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  protocol: [],
  net: ['protocol'],
  client: ['protocol', 'net'],
  broker: ['protocol', 'net'],
  processing: ['client'],
  lab: ['processing', 'client', 'broker'],
  console: ['client'],
  cli: ['lab', 'processing', 'client', 'broker', 'net', 'protocol', 'console'],
  testing: ['processing', 'broker', 'client'],
  '': ['processing', 'client', 'protocol', 'broker', 'net', 'lab'],
}

/** Layers that must go through the public entries of the layers they use. */
const THROUGH_ENTRIES = new Set(['processing', 'lab', 'cli', 'console'])

interface Violation {
  readonly file: string
  readonly target: string
  readonly rule: string
}

function violations(imports: ReadonlyMap<string, readonly SourceImport[]>): Violation[] {
  const out: Violation[] = []
  for (const [file, list] of imports) {
    const from = layerOf(file)
    for (const { target } of list) {
      const to = layerOf(target)
      if (to === from) continue
      if (!(MAY_IMPORT[from] ?? []).includes(to)) out.push({ file, target, rule: `${from || 'the package root'} may not import ${to || 'the package root'}` })
      else if (THROUGH_ENTRIES.has(from) && target !== `src/${to}/index.ts`) out.push({ file, target, rule: `${from} reaches ${to} only through src/${to}/index.ts` })
    }
  }
  return out
}

function format(list: readonly Violation[]): string {
  return list.map((v) => `${v.file} imports ${v.target}: ${v.rule}`).join('\n')
}

describe('layers', () => {
  const files = sourceFiles()

  it('every file under src/ keeps the import rule', () => {
    const found = violations(graph(files))
    assert.equal(found.length, 0, format(found))
  })

  it('finds a deep import from processing, the lab or the CLI, and an import against the table', () => {
    const planted = new Map<string, SourceImport[]>([
      ['src/processing/x.ts', [{ target: 'src/client/membership/errors.ts', specifier: '../client/membership/errors.js', typeOnly: false }]],
      ['src/lab/members/y.ts', [{ target: 'src/processing/app.ts', specifier: '../../processing/app.js', typeOnly: true }]],
      ['src/cli/z.ts', [{ target: 'src/lab/lab.ts', specifier: '../lab/lab.js', typeOnly: false }]],
      ['src/client/w.ts', [{ target: 'src/broker/index.ts', specifier: '../broker/index.js', typeOnly: false }]],
      ['src/processing/ok.ts', [{ target: 'src/client/index.ts', specifier: '../client/index.js', typeOnly: false }]],
    ])
    assert.deepEqual(
      violations(planted).map((v) => v.file),
      ['src/processing/x.ts', 'src/lab/members/y.ts', 'src/cli/z.ts', 'src/client/w.ts'],
    )
  })

  it('reads the imports the rule is about from the text: static, re-exports, type-only and dynamic', () => {
    const text = [
      "import { a } from '../client/index.js'",
      "import type { B } from '../client/membership/state.js'",
      "export { c } from './c.js'",
      "export * from '../protocol/index.js'",
      "const d = await import('../broker/index.js')",
      "import { pino } from 'pino'",
    ].join('\n')
    const imports = graph(['src/processing/p.ts'], () => text).get('src/processing/p.ts') ?? []
    assert.deepEqual(
      imports.map((i) => [i.target, i.typeOnly]),
      [
        ['src/client/index.ts', false],
        ['src/client/membership/state.ts', true],
        ['src/processing/c.ts', false],
        ['src/protocol/index.ts', false],
        ['src/broker/index.ts', false],
      ],
    )
  })
})
