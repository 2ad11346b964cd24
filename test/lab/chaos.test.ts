/**
 * Invariant: under crashes, graceful stops, joins and a broker restart, at-least-once holds as
 * baton promises it: no record is lost, and every duplicate is explained by a SIGKILL or a session
 * loss of the member that had done it first. Real processes: each member is a child process
 * running the framework, the broker a `baton broker --data` child process killed with SIGKILL.
 *
 * The seed is printed; replay a failure with BATON_CHAOS_SEED=<seed>, or with
 * `baton chaos --seed <seed> --changes 10 --mode <mode>`.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { resolveChaosConfig, type ChaosMode } from '../../src/lab/chaos/config.js'
import { scheduledRun, SEED } from './chaos-helpers.js'

describe(`chaos (seed ${SEED})`, () => {
  for (const mode of ['partition', 'key'] as ChaosMode[]) {
    it(`${mode} mode: 10 changes and a broker restart, nothing lost, every duplicate explained`, async (t) => {
      console.log(`chaos ${mode} mode: seed ${SEED} (replay: BATON_CHAOS_SEED=${SEED})`)
      const outDir = mkdtempSync(join(tmpdir(), `baton-chaos-${mode}-`))
      const config = resolveChaosConfig({ outDir, seed: SEED, mode, changes: 10, recordsPerSecond: 150, gapMinMs: 1_000, gapMaxMs: 2_500, drainTimeoutMs: 90_000 })
      const { result, report } = await scheduledRun(t, config)
      assert.deepEqual(result.account.lost, [], `no record lost (report: ${report})`)
      const unexplained = result.account.duplicates.filter((d) => d.explanation !== 'sigkill' && d.explanation !== 'session-loss')
      assert.deepEqual(unexplained.map((d) => `${d.id}: ${d.because.join('; ')}`), [], `every duplicate explained by a SIGKILL or a session loss (report: ${report})`)
      rmSync(outDir, { recursive: true, force: true })
    })
  }
})
