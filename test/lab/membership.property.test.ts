/**
 * Invariant, whatever the membership does (joins, graceful leaves and crashes, in any order the
 * group survives): at-least-once loses nothing, and the exactly-once modes also duplicate nothing.
 * Every input has exactly one visible effect: an output a read_committed reader sees
 * (transactional), a row in the database (store, on PGlite).
 *
 * Each run is the lab itself on the embedded broker: a random script, every mode through it side
 * by side, each verified record by record from where its effects are visible. Crashes are the
 * lab's in-process ones (the member's consumer goes silent and its database session with it); the
 * modes' own tests kill real processes (test/processing/delivery/*-kill, *-crash).
 *
 * What a run costs is mostly waiting: a crash costs a session timeout before its partitions move,
 * and store mode on PGlite runs one transaction at a time, so its records take their handler time
 * one after another. The runs therefore use the shortest session the lab allows (1 s), handlers of
 * a few milliseconds, and just enough records that the first change lands while every mode is
 * still processing; PGlite starts once for the whole file. That makes a run about 3 s, and the
 * file runs 30 scripts against each mode.
 *
 * The seed is printed, and each script as it runs; replay with FC_SEED=<seed>. fast-check stops at
 * the first failure rather than shrinking (a run takes seconds) and reports the script.
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
// The lab's shortest session: a crash costs one second, not Kafka's minimum of six.
const SESSION_TIMEOUT_MS = 1000
const RUNS = Number(process.env.FC_NUM_RUNS ?? 30)
const SEED = process.env.FC_SEED === undefined ? Math.floor(Math.random() * 0x7fffffff) : Number(process.env.FC_SEED)
const RECORDS = 240

interface Step {
  readonly action: MembershipAction
  readonly gapMs: number
}

/**
 * Up to three changes, 100-400 ms apart (the first while every mode is processing, the later ones
 * while store mode still is); a leave or crash that would empty the group becomes a join.
 */
const scripts = fc.array(fc.record({ action: fc.constantFrom<MembershipAction>('join', 'leave', 'crash'), gapMs: fc.integer({ min: 100, max: 400 }) }), { minLength: 1, maxLength: 3 }).map((steps) => {
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
    console.log(`membership property: ${RUNS} scripts, seed ${SEED} (replay: FC_SEED=${SEED})`)
    let run = 0
    await fc.assert(
      fc.asyncProperty(scripts, fc.integer({ min: 1, max: 1000 }), async (script, seed) => {
        const started = Date.now()
        const lab = await runLab(
          {
            records: RECORDS,
            partitions: 4,
            handlerMs: 5,
            consumers: CONSUMERS,
            script,
            seed,
            strategies: [...AT_LEAST_ONCE, ...EXACTLY_ONCE],
            sessionTimeoutMs: SESSION_TIMEOUT_MS,
            // Far past what a run takes (seconds), so a slow machine is no failure: records still
            // missing then count as lost.
            strategyDeadlineMs: 30_000,
          },
          { writeReport: false },
        )
        const late = lab.strategies.filter((s) => s.timedOut).map((s) => s.outcome.strategy)
        console.log(`run ${++run}: script ${script}, workload seed ${seed}, ${Date.now() - started} ms${late.length === 0 ? '' : `, deadline reached by ${late.join(', ')}`}`)
        for (const s of lab.strategies) {
          assert.equal(s.outcome.lost, 0, describeRun(script, s))
          assert.equal(s.outcome.processed, RECORDS, describeRun(script, s))
          if (EXACTLY_ONCE.includes(s.outcome.strategy)) assert.equal(s.outcome.duplicated, 0, describeRun(script, s))
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true, includeErrorInReport: true },
    )
  })
})
