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
import pg from 'pg'
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

  // `--store postgres://...`: the same row on a real PostgreSQL server, when the environment names one.
  const postgresUrl = process.env.BATON_TEST_POSTGRES
  it('store on PostgreSQL (--store): 0 duplicated and 0 lost with the crash, and the run leaves no tables behind', { timeout: 120_000, skip: postgresUrl === undefined ? 'set BATON_TEST_POSTGRES to a PostgreSQL connection string to run this' : false }, async () => {
    const out = join(dir, 'postgres')
    const lab = await runLab(
      { records: 300, partitions: 4, handlerMs: 10, consumers: 2, script: 'join@400ms,crash@900ms', seed: 6, strategies: ['store'], store: postgresUrl, outDir: out, sessionTimeoutMs: 2000, strategyDeadlineMs: 60_000 },
      {},
    )
    const [store] = lab.strategies
    assert.ok(store)
    const why = JSON.stringify({ ...store.outcome, errors: store.errors })
    assert.equal(store.outcome.lost, 0, why)
    assert.equal(store.outcome.duplicated, 0, why)
    assert.equal(store.outcome.crashes, 1, why)
    assert.equal(store.expected.met, true, why)
    assert.match(String(lab.configuration.store), /^postgres/)
    const client = new pg.Client({ connectionString: postgresUrl })
    await client.connect()
    try {
      // The run's tables are named after its id, the topic's suffix (baton-lab-<run id>).
      const runId = lab.topic.slice('baton-lab-'.length).replace(/[^a-z0-9]/gi, '_').toLowerCase()
      const left = await client.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE tablename LIKE $1', [`baton_lab_%_${runId}`])
      assert.deepEqual(left.rows, [])
    } finally {
      await client.end()
    }
  })
})
