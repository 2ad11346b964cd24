/**
 * Invariant, whatever the membership does (joins, graceful leaves and crashes, in any order the
 * group survives): at-least-once loses nothing, and the exactly-once modes also duplicate nothing.
 * Every input has exactly one visible effect: an output a read_committed reader sees
 * (transactional), a row in the database (store, on PGlite).
 *
 * Each run is the lab itself on the embedded broker: a random script, every mode through it, each
 * verified record by record from where its effects are visible. Crashes are the lab's in-process
 * ones (the member's consumer goes silent and its work has no further effect); the modes' own tests
 * kill real processes. A run takes seconds, so the property runs a handful of scripts, and stops at
 * the first failure rather than shrinking (fast-check prints the seed and the script to replay).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { runLab, type StrategyResult } from '../../src/lab/lab.js'
import type { MembershipAction } from '../../src/lab/script.js'

const AT_LEAST_ONCE = ['baton']
const EXACTLY_ONCE = ['transactional', 'store']
const CONSUMERS = 2
const MAX_MEMBERS = 4
// Short sessions so that a crash costs two seconds, not Kafka's minimum of six.
const SESSION_TIMEOUT_MS = 2000
const RUNS = 5

interface Step {
  readonly action: MembershipAction
  readonly gapMs: number
}

/** Up to three changes, 200-600 ms apart (all while records are being processed); a leave or crash that would empty the group becomes a join. */
const scripts = fc.array(fc.record({ action: fc.constantFrom<MembershipAction>('join', 'leave', 'crash'), gapMs: fc.integer({ min: 200, max: 600 }) }), { minLength: 1, maxLength: 3 }).map((steps) => {
  let members = CONSUMERS
  let atMs = 0
  return steps
    .map((step: Step) => {
      const removes = step.action !== 'join'
      const action: MembershipAction = removes && members <= 1 ? 'join' : !removes && members >= MAX_MEMBERS ? 'leave' : step.action
      members += action === 'join' ? 1 : -1
      atMs += step.gapMs
      return `${action}@${atMs}ms`
    })
    .join(',')
})

function describeRun(script: string, s: StrategyResult): string {
  const o = s.outcome
  return `${o.strategy} with script ${script}: lost ${o.lost} (${o.lostRecordIds.slice(0, 10).join(',')}), duplicated ${o.duplicated}, crashes ${JSON.stringify(s.observation.crashes)}, errors ${JSON.stringify(s.errors)}, timed out ${s.timedOut}`
}

describe('membership scripts against every delivery mode', () => {
  it('at-least-once loses nothing; transactional and store lose and duplicate nothing', { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scripts, fc.integer({ min: 1, max: 1000 }), async (script, seed) => {
        const lab = await runLab(
          {
            // Enough work that every change lands while records are still being processed.
            records: 480,
            partitions: 4,
            handlerMs: 15,
            consumers: CONSUMERS,
            script,
            seed,
            strategies: [...AT_LEAST_ONCE, ...EXACTLY_ONCE],
            sessionTimeoutMs: SESSION_TIMEOUT_MS,
            strategyDeadlineMs: 60_000,
          },
          { writeReport: false },
        )
        for (const s of lab.strategies) {
          assert.equal(s.outcome.lost, 0, describeRun(script, s))
          assert.equal(s.outcome.processed, 480, describeRun(script, s))
          if (EXACTLY_ONCE.includes(s.outcome.strategy)) assert.equal(s.outcome.duplicated, 0, describeRun(script, s))
        }
      }),
      { numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
    )
  })
})
