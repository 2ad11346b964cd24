#!/usr/bin/env node
// The `baton` command. A built package runs the compiled CLI; a development checkout (no dist/)
// runs the TypeScript sources through tsx, so `npx baton` works straight after `npm ci`.
import { existsSync } from 'node:fs'

const compiled = new URL('../dist/cli/main.js', import.meta.url)
if (existsSync(compiled)) {
  await import(compiled.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import(new URL('../src/cli/main.ts', import.meta.url).href)
}
