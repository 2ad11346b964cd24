/**
 * The lab's exactly-once rows, for real and small: the embedded broker, a crash in the script,
 * and the effects counted where a user sees them (the output topic read with read_committed, the
 * rows in PGlite). Invariant: with the crash in the run, transactional and store show every record
 * exactly once, and results.json says the expected result was met.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runLab } from '../../src/lab/lab.js'

interface StrategyJson {
  strategy: string
  processed: number
  lost: number
  duplicated: number
  timedOut: boolean
  crashes: { consumerId: string }[]
  guarantee: string
  expected: string
  expectationMet: boolean | null
  judgedOn: string
  explanation: string
  recoveredErrors: Record<string, number>
}

describe('lab: the exactly-once strategies with a crash', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'baton-lab-eos-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('transactional and store: 0 duplicated and 0 lost, the crash included, as results.json expects', { timeout: 120_000 }, async () => {
    const out = join(dir, 'crash')
    await runLab(
      {
        records: 300,
        partitions: 4,
        handlerMs: 10,
        consumers: 2,
        // A join (a graceful hand-off), then a crash while records are still being processed.
        script: 'join@400ms,crash@900ms',
        seed: 5,
        strategies: ['transactional', 'store'],
        outDir: out,
        sessionTimeoutMs: 2000,
        strategyDeadlineMs: 60_000,
      },
      {},
    )
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as { expectationsMet: boolean; strategies: StrategyJson[] }
    assert.deepEqual(results.strategies.map((s) => s.strategy), ['transactional', 'store'])
    for (const s of results.strategies) {
      const why = JSON.stringify(s)
      assert.equal(s.timedOut, false, why)
      assert.equal(s.crashes.length, 1, why)
      assert.equal(s.processed, 300, why)
      assert.equal(s.lost, 0, why)
      assert.equal(s.duplicated, 0, why)
      assert.match(s.guarantee, /exactly-once/)
      assert.equal(s.expected, '0 duplicated and 0 lost, with the crash in the run')
      assert.equal(s.expectationMet, true, why)
    }
    assert.equal(results.expectationsMet, true)
  })
})
