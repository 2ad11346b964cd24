/** For tests that write files: a fresh temporary directory for each test, removed after it. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach } from 'node:test'

/** Call in a `describe` body; the returned function gives the current test's directory. */
export function tempDirPerTest(prefix: string): () => string {
  let dir: string | undefined
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix))
  })
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
    dir = undefined
  })
  return () => {
    if (dir === undefined) throw new Error('the temporary directory exists only while a test runs')
    return dir
  }
}
