/**
 * The import graph of `src/`, read from the files as text: every `import … from`, `export … from`
 * and `import()` with a relative specifier, resolved to the file it names. Shared by the layering
 * and cycle tests.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, posix, relative } from 'node:path'

export const SRC = join(import.meta.dirname, '..', '..', 'src')

export interface SourceImport {
  /** The file as written, relative to the repository root with forward slashes (`src/a/b.ts`). */
  readonly target: string
  readonly specifier: string
  /** `import type` / `export type`: erased at run time. */
  readonly typeOnly: boolean
}

/** Every `.ts` file under `src/`, as `src/…` paths, sorted. */
export function sourceFiles(dir = SRC): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...sourceFiles(path))
    else if (entry.name.endsWith('.ts')) out.push('src/' + relative(SRC, path).split('\\').join('/'))
  }
  return out.sort()
}

export function readSource(file: string): string {
  return readFileSync(join(SRC, '..', file), 'utf8')
}

const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

/** The relative imports of `file` (a `src/…` path) given its text; package imports are left out. */
export function importsOf(file: string, text: string): SourceImport[] {
  const out: SourceImport[] = []
  for (const m of text.matchAll(IMPORT)) {
    const specifier = m[3] ?? m[4]
    if (specifier === undefined || !specifier.startsWith('.')) continue
    const target = posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, '.ts')
    out.push({ target, specifier, typeOnly: m[2] !== undefined })
  }
  return out
}

/** The folder right under `src/` a file belongs to (`src/index.ts` → `''`). */
export function layerOf(file: string): string {
  const parts = file.split('/')
  return parts.length > 2 ? parts[1]! : ''
}

export function graph(files: readonly string[], read: (file: string) => string = readSource): Map<string, SourceImport[]> {
  return new Map(files.map((f) => [f, importsOf(f, read(f))]))
}
