/**
 * The page's libraries, served from the installed npm packages (never from a CDN): Preact with htm
 * for the page, Chart.js for the charts. Each is found through Node's resolution, so it works from
 * a checkout and from an installed baton alike.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)

/** URL path → [package, file inside it, content type]. */
const ASSETS: Record<string, [string, string, string]> = {
  '/assets/preact.mjs': ['preact', 'dist/preact.mjs', 'text/javascript'],
  '/assets/hooks.mjs': ['preact', 'hooks/dist/hooks.mjs', 'text/javascript'],
  '/assets/htm.mjs': ['htm', 'dist/htm.mjs', 'text/javascript'],
  '/assets/htm-preact.mjs': ['htm', 'preact/index.mjs', 'text/javascript'],
  '/assets/chart.umd.js': ['chart.js', 'dist/chart.umd.min.js', 'text/javascript'],
}

/** The import map the page's module script uses to find them. */
export const IMPORT_MAP = {
  imports: { preact: '/assets/preact.mjs', 'preact/hooks': '/assets/hooks.mjs', htm: '/assets/htm.mjs', 'htm/preact': '/assets/htm-preact.mjs' },
}

function packageRoot(name: string): string {
  let dir = dirname(require.resolve(name))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }
      if (pkg.name === name) return dir
    } catch {
      // no package.json here: keep going up
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`cannot find the installed package ${name}; reinstall baton's dependencies`)
    dir = parent
  }
}

const cache = new Map<string, { body: Buffer; type: string }>()

/** The asset at a URL path, or undefined. */
export function asset(path: string): { body: Buffer; type: string } | undefined {
  const entry = ASSETS[path]
  if (entry === undefined) return undefined
  let found = cache.get(path)
  if (found === undefined) {
    const [pkg, file, type] = entry
    found = { body: readFileSync(join(packageRoot(pkg), file)), type }
    cache.set(path, found)
  }
  return found
}
