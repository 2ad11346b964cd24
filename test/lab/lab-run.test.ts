/**
 * The lab for real, small: the embedded broker, the workload, each strategy through a short script,
 * and the relations the lab exists to show, read back from the results.json it wrote.
 *
 * Invariants: on graceful membership changes, `baton` loses nothing and duplicates nothing, while
 * `naive` (eager, commit after each record, no revoke hook) duplicates the records in flight at
 * each rebalance. With a crash, baton still loses nothing and every duplicate it shows is explained
 * by the crash, never more than the records the crashed member had in flight.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { runLab } from '../../src/lab/lab.js'
import type { ProgressReporter } from '../../src/lab/progress.js'

interface StrategyJson {
  strategy: string
  produced: number
  processed: number
  lost: number
  duplicated: number
  duplicatedAfterCrash: number
  inFlightAtCrash: number
  rebalances: number
  timedOut: boolean
  recoveredErrors: Record<string, number>
  crashes: { consumerId: string; inFlight: number }[]
  duplicates: { recordId: number; by: string[] }[]
  guarantee: string
  expected: string
  expectationMet: boolean | null
  judgedOn: string
  explanation: string
}

interface ResultsJson {
  configuration: { seed: number; script: string; records: number; strategies: string[] }
  expectationsMet: boolean
  strategies: StrategyJson[]
}

async function readResults(dir: string): Promise<ResultsJson> {
  return JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as ResultsJson
}

function byName(results: ResultsJson, name: string): StrategyJson {
  const found = results.strategies.find((s) => s.strategy === name)
  assert.ok(found, `results.json has no entry for ${name}`)
  return found
}

/** Keeps the run's events, so a failing assertion can say what happened. */
function recordingProgress(): ProgressReporter & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    info: (message) => lines.push(message),
    strategyStarted: (name) => lines.push(`start ${name}`),
    event: (strategy, atMs, message) => lines.push(`${atMs} ms ${strategy}: ${message}`),
    strategyFinished: (o) => lines.push(`done ${o.strategy}: processed ${o.processed}, lost ${o.lost}, duplicated ${o.duplicated}`),
  }
}

function explain(s: StrategyJson, progress: { lines: string[] }): string {
  return `${s.strategy}: ${JSON.stringify({ lost: s.lost, duplicates: s.duplicates.slice(0, 5), errors: s.recoveredErrors })}\n${progress.lines.join('\n')}`
}

// Each strategy normally takes 2-3 s here (8 s with the crash's session timeout); the deadline
// turns a stuck run into a failed assertion that says what is missing, well before the test timeout.
const STRATEGY_DEADLINE_MS = 15_000

describe('lab run on the embedded broker', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'baton-lab-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('graceful join and leave: naive duplicates, baton neither loses nor duplicates', { timeout: 90_000 }, async () => {
    const out = join(dir, 'graceful')
    const progress = recordingProgress()
    await runLab(
      {
        // Handlers long enough that a record in flight at a rebalance is still running when the
        // partition's next owner reads the committed offset, however fast the rebalance is.
        records: 240,
        partitions: 4,
        handlerMs: 50,
        consumers: 2,
        script: 'join@500ms,leave@1200ms',
        seed: 7,
        strategies: ['naive', 'commit-on-revoke', 'baton', 'baton-848'],
        outDir: out,
        strategyDeadlineMs: STRATEGY_DEADLINE_MS,
      },
      { progress },
    )
    const results = await readResults(out)
    assert.equal(results.configuration.seed, 7)
    assert.equal(results.configuration.script, 'join@500ms,leave@1200ms')
    assert.deepEqual(
      results.strategies.map((s) => s.strategy),
      ['naive', 'commit-on-revoke', 'baton', 'baton-848'],
    )
    for (const s of results.strategies) {
      assert.equal(s.timedOut, false, explain(s, progress))
      assert.equal(s.lost, 0, explain(s, progress))
      assert.equal(s.processed, 240)
      // The initial assignment, the join, the leave.
      assert.equal(s.rebalances, 3)
    }
    const naive = byName(results, 'naive')
    assert.ok(naive.duplicated > 0, `naive shows the problem: records in flight at a rebalance are processed twice\n${explain(naive, progress)}`)
    assert.equal(naive.duplicates.length, naive.duplicated)
    const baton = byName(results, 'baton')
    assert.equal(baton.duplicated, 0, explain(baton, progress))
    const baton848 = byName(results, 'baton-848')
    assert.equal(baton848.duplicated, 0, explain(baton848, progress))
    // What results.json promises a reader: each strategy's expected result, judged.
    assert.equal(naive.expectationMet, true, naive.judgedOn)
    assert.match(naive.expected, /duplicates/)
    assert.equal(baton.expectationMet, true, baton.judgedOn)
    assert.match(baton.expected, /fewer duplicated records than naive/)
    assert.equal(results.expectationsMet, true)
    for (const s of results.strategies) {
      assert.match(s.guarantee, /at-least-once/)
      assert.ok(s.explanation.length > 40, `${s.strategy} explains its duplicates`)
    }
    const html = await readFile(join(out, 'index.html'), 'utf8')
    assert.ok(html.includes('<table id="results">'))
    assert.equal((html.match(/<svg /g) ?? []).length, 4)
    assert.ok(html.includes('Why each row has the duplicates it has'))
    assert.match(html, /<p id="verdict">expected results: all met/)
    assert.ok(html.includes(naive.explanation.replace(/'/g, '&#39;')), 'the report carries the sentence results.json has')
  })

  it('a crash: baton loses nothing, and its only duplicates are the crashed member\'s in-flight records', { timeout: 60_000 }, async () => {
    const out = join(dir, 'crash')
    const progress = recordingProgress()
    await runLab(
      { records: 300, partitions: 4, handlerMs: 20, consumers: 2, script: 'crash@600ms', seed: 3, strategies: ['baton'], outDir: out, strategyDeadlineMs: STRATEGY_DEADLINE_MS },
      { progress },
    )
    const baton = byName(await readResults(out), 'baton')
    assert.equal(baton.timedOut, false, explain(baton, progress))
    assert.equal(baton.lost, 0, explain(baton, progress))
    assert.equal(baton.processed, 300)
    assert.equal(baton.crashes.length, 1)
    assert.equal(baton.duplicated, baton.duplicatedAfterCrash, `every duplicate is explained by the crash\n${explain(baton, progress)}`)
    assert.ok(baton.duplicatedAfterCrash <= baton.inFlightAtCrash, `${baton.duplicatedAfterCrash} duplicates, ${baton.inFlightAtCrash} in flight`)
    const crashed = baton.crashes[0]!.consumerId
    for (const d of baton.duplicates) assert.ok(d.by.includes(crashed), `record ${d.recordId} was duplicated without the crashed member`)
  })
})
