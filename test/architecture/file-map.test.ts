/**
 * Invariant: the file maps match the tree. Every source file is named in a file map (DESIGN.md, or
 * the README/DESIGN of a folder that holds it), and every `src/…` path a map names exists. Generated
 * code and the broker's per-API handler files (`handlers/NN-name.ts`, named by that pattern) are
 * the only files named as a group.
 */
import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, it } from 'node:test'
import { sourceFiles } from './source-graph.js'

const ROOT = join(import.meta.dirname, '..', '..')
const NAMED_AS_A_GROUP = [/^src\/protocol\/generated\//, /^src\/broker\/handlers\/\d\d-[a-z-]+\.ts$/]

function markdownUnder(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`
    if (entry.isDirectory()) out.push(...markdownUnder(path))
    else if (entry.name.endsWith('.md')) out.push(path)
  }
  return out
}

/** Everything written between backticks in a document. */
function codeSpans(text: string): Set<string> {
  return new Set([...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!.trim()))
}

/** The maps that may name `file`: DESIGN.md and the documents in the folders above it. */
function mapsFor(file: string, maps: ReadonlyMap<string, Set<string>>): Set<string>[] {
  const out: Set<string>[] = []
  for (const [doc, spans] of maps) if (doc === 'DESIGN.md' || file.startsWith(dirname(doc) + '/')) out.push(spans)
  return out
}

/** `src/a/b/c.ts` is named by `c.ts`, `b/c.ts`, `a/b/c.ts` or the whole path. */
function namedIn(file: string, spans: readonly Set<string>[]): boolean {
  const parts = file.split('/')
  for (let i = parts.length - 1; i >= 0; i--) {
    const suffix = parts.slice(i).join('/')
    if (spans.some((s) => s.has(suffix))) return true
  }
  return false
}

describe('file maps', () => {
  const docs = ['DESIGN.md', ...markdownUnder('src')]
  const maps = new Map(docs.map((doc) => [doc, codeSpans(readFileSync(join(ROOT, doc), 'utf8'))]))

  it('name every source file', () => {
    const unnamed = sourceFiles().filter((f) => !NAMED_AS_A_GROUP.some((p) => p.test(f)) && !namedIn(f, mapsFor(f, maps)))
    assert.deepEqual(unnamed, [], `not in any file map (DESIGN.md or a README/DESIGN above it):\n${unnamed.join('\n')}`)
  })

  it('name only files and folders that exist', () => {
    const missing: string[] = []
    for (const [doc, spans] of maps) {
      for (const span of spans) {
        if (!/^src\/[\w./-]+$/.test(span)) continue
        if (!existsSync(join(ROOT, span.replace(/\.js$/, '.ts')))) missing.push(`${doc}: ${span}`)
      }
    }
    assert.deepEqual(missing, [])
  })

  it('counts a file as named by any tail of its path, and only in the maps above it', () => {
    const maps = new Map([
      ['DESIGN.md', new Set(['src/net/'])],
      ['src/client/README.md', new Set(['consumer/fetcher.ts'])],
      ['src/broker/README.md', new Set(['records.ts'])],
    ])
    assert.equal(namedIn('src/client/consumer/fetcher.ts', mapsFor('src/client/consumer/fetcher.ts', maps)), true)
    assert.equal(namedIn('src/client/consumer/records.ts', mapsFor('src/client/consumer/records.ts', maps)), false)
    assert.equal(namedIn('src/net/connection.ts', mapsFor('src/net/connection.ts', maps)), false)
  })
})
