import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

import { KAFKA_ERRORS } from '../../../src/protocol/errors/kafka-errors.js'

// node:test's runner awaits describe/it itself, hence `void`. Every run here uses --check, which never writes: the module under test is shared with other work.
const root = resolve(fileURLToPath(import.meta.url), '../../../..')
const script = join(root, 'scripts/generate-error-codes.ts')
const target = join(root, 'src/protocol/errors/kafka-errors.ts')
const dir = mkdtempSync(join(tmpdir(), 'baton-error-codes-'))
after(() => rmSync(dir, { recursive: true, force: true }))

/** The table in the shape Kafka's build writes it, with a description cell holding markup to skip. */
function kafkaTable(rows: readonly { name: string; code: number; retriable: boolean }[]): string {
  const body = rows
    .map((r) => `<tr><td>${r.name}</td><td>${r.code}</td><td>${r.retriable ? 'True' : 'False'}</td><td>text with <code>markup</code></td></tr>\n`)
    .join('')
  return `<table class="data-table"><tbody>\n<tr><th>Error</th>\n<th>Code</th>\n<th>Retriable</th>\n<th>Description</th>\n</tr>\n${body}</tbody></table>\n`
}

function run(...args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, encoding: 'utf8' })
  return { status: result.status, stderr: result.stderr }
}

const rows = Object.values(KAFKA_ERRORS).sort((a, b) => a.code - b.code)

void describe('scripts/generate-error-codes.ts', () => {
  void it('reproduces the committed table from Kafka’s HTML (re-running yields no diff)', () => {
    const html = join(dir, 'protocol_errors.html')
    writeFileSync(html, kafkaTable(rows))
    const { status, stderr } = run(html, '--check')
    assert.equal(status, 0, stderr)
  })

  void it('resolves the include in protocol.html, as the web server would', () => {
    const docs = join(dir, 'docs')
    mkdirSync(join(docs, 'generated'), { recursive: true })
    writeFileSync(join(docs, 'generated/protocol_errors.html'), kafkaTable(rows))
    writeFileSync(join(docs, 'protocol.html'), '<p>Error codes:</p>\n<!--#include virtual="generated/protocol_errors.html" -->\n')
    const { status, stderr } = run(join(docs, 'protocol.html'), '--check')
    assert.equal(status, 0, stderr)
  })

  void it('reports a changed retriable flag as out of date, without writing', () => {
    const before = readFileSync(target, 'utf8')
    const html = join(dir, 'flipped.html')
    writeFileSync(html, kafkaTable(rows.map((r) => (r.code === 6 ? { ...r, retriable: false } : r))))
    const { status, stderr } = run(html, '--check')
    assert.equal(status, 1)
    assert.match(stderr, /out of date/)
    assert.equal(readFileSync(target, 'utf8'), before)
  })

  void it('refuses a table with duplicate codes', () => {
    const html = join(dir, 'duplicate.html')
    writeFileSync(html, kafkaTable([...rows, { code: 6, name: 'NOT_LEADER_FOR_PARTITION', retriable: true }]))
    const { status, stderr } = run(html, '--check')
    assert.equal(status, 1)
    assert.match(stderr, /duplicate error codes/)
  })

  void it('explains an unresolved include instead of emitting an empty table', () => {
    const page = join(dir, 'bare.html')
    writeFileSync(page, '<!--#include virtual="generated/protocol_errors.html" -->\n')
    const { status, stderr } = run(page, '--check')
    assert.equal(status, 1)
    assert.match(stderr, /server-side include/)
  })
})
