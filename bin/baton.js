#!/usr/bin/env node
// The `baton` command. In a development checkout (the TypeScript sources are present) it runs
// them through tsx, so `npx baton` never runs a stale build; an installed package runs dist/.
import { existsSync } from 'node:fs'
import { URL } from 'node:url'

const source = new URL('../src/cli/main.ts', import.meta.url)
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api')
  register()
  await import(source.href)
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href)
}
