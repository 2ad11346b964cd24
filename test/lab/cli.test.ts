/**
 * `baton lab` refuses bad flags before starting anything, with a message naming the flag and what
 * it accepts, and a non-zero exit code.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const bin = fileURLToPath(new URL('../../bin/baton.js', import.meta.url))

function lab(...args: string[]): { status: number | null; stderr: string; stdout: string } {
  const result = spawnSync(process.execPath, [bin, 'lab', ...args], { encoding: 'utf8', timeout: 20_000 })
  return { status: result.status, stderr: result.stderr, stdout: result.stdout }
}

describe('baton lab flags', () => {
  it('rejects a non-integer count with the flag and its range', () => {
    const r = lab('--records', 'many')
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /--records must be an integer from 1 to 1000000, got "many"/)
  })

  it('rejects a malformed script step and says what a step looks like', () => {
    const r = lab('--script', 'join@2s,explode@3s')
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /"explode@3s" is not ACTION@TIME/)
  })

  it('rejects a --store that is not a PostgreSQL connection string, saying what to pass', () => {
    const r = lab('--store', 'sqlite://lab.db')
    assert.equal(r.status, 2)
    assert.match(r.stderr, /--store must be a PostgreSQL connection string \(postgres:\/\/user:password@host:5432\/database\); leave it out to use PGlite/)
  })

  it('rejects an unknown strategy and lists the known ones', () => {
    const r = lab('--strategies', 'naive,magic')
    assert.equal(r.status, 2)
    assert.match(r.stderr, /unknown strategy "magic"; choose from naive, commit-on-revoke, baton/)
    assert.equal(r.stdout, '')
  })
})
