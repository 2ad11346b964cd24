/**
 * Invariant: `baton broker` that cannot start says why in one line on stderr and exits 1: no stack
 * trace, no source excerpt, no help screen. Run as a child process, as a user would.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'baton.js')

async function runBroker(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'broker', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

function assertOneLine(stderr: string, pattern: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '')
  assert.equal(lines.length, 1, `one line on stderr, got:\n${stderr}`)
  assert.match(lines[0]!, pattern)
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace')
}

describe('baton broker start-up errors', () => {
  let dir: string
  let occupied: Server

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'baton-startup-'))
    occupied = createServer()
    await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve))
  })
  after(() => {
    occupied.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('a port in use: one line naming the port and the fix, exit 1', async () => {
    const port = (occupied.address() as AddressInfo).port
    const { code, stdout, stderr } = await runBroker(['--port', String(port), '--log-level', 'silent'])
    assert.equal(code, 1)
    assert.equal(stdout, '', 'never claims to listen')
    assertOneLine(stderr, new RegExp(`^baton broker: cannot listen on 127\\.0\\.0\\.1:${port}; pick a free port or 0 \\(EADDRINUSE\\)$`))
  })

  it('a --data that cannot be created: one line naming the directory, exit 1', async () => {
    const file = join(dir, 'a-file')
    writeFileSync(file, 'not a directory')
    const { code, stdout, stderr } = await runBroker(['--port', '0', '--data', join(file, 'data'), '--log-level', 'silent'])
    assert.equal(code, 1)
    assert.equal(stdout, '')
    assertOneLine(stderr, /^baton broker: cannot create data directory .*a-file\/data; check the path and its permissions \(ENOTDIR\)$/)
  })

  it('--log-level bogus: one line listing the levels, exit 1', async () => {
    const { code, stdout, stderr } = await runBroker(['--port', '0', '--log-level', 'bogus'])
    assert.equal(code, 1)
    assert.equal(stdout, '')
    assertOneLine(stderr, /'bogus' is invalid\. Allowed choices are debug, info, warn, error, silent\.$/)
  })
})
