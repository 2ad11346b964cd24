/**
 * Invariant: no import cycle between source files, type-only imports included. A cycle makes
 * module initialisation order matter and means two files are one job split in two.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { graph, sourceFiles, type SourceImport } from './source-graph.js'

/** The strongly connected components of more than one file, or of one file importing itself (Tarjan). */
function cycles(imports: ReadonlyMap<string, readonly SourceImport[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (file: string): void => {
    index.set(file, next)
    low.set(file, next++)
    stack.push(file)
    onStack.add(file)
    for (const { target } of imports.get(file) ?? []) {
      if (!imports.has(target)) continue
      if (!index.has(target)) {
        visit(target)
        low.set(file, Math.min(low.get(file)!, low.get(target)!))
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!))
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    for (;;) {
      const member = stack.pop()!
      onStack.delete(member)
      component.push(member)
      if (member === file) break
    }
    const selfImport = (imports.get(file) ?? []).some((i) => i.target === file)
    if (component.length > 1 || selfImport) found.push(component.sort())
  }
  for (const file of imports.keys()) if (!index.has(file)) visit(file)
  return found
}

describe('import cycles', () => {
  it('no file under src/ imports itself through other files', () => {
    const found = cycles(graph(sourceFiles()))
    assert.deepEqual(found, [], found.map((c) => c.join(' → ')).join('\n'))
  })

  it('finds a cycle through three files, and none in a chain', () => {
    const edge = (target: string): SourceImport => ({ target, specifier: target, typeOnly: true })
    const ring = new Map([
      ['a.ts', [edge('b.ts')]],
      ['b.ts', [edge('c.ts')]],
      ['c.ts', [edge('a.ts')]],
      ['d.ts', [edge('a.ts')]],
    ])
    assert.deepEqual(cycles(ring), [['a.ts', 'b.ts', 'c.ts']])
    const chain = new Map([
      ['a.ts', [edge('b.ts')]],
      ['b.ts', [edge('c.ts')]],
      ['c.ts', []],
    ])
    assert.deepEqual(cycles(chain), [])
  })
})
