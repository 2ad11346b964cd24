/**
 * The exactly-once chaos runs' shared steps (see chaos-transactional.test.ts, chaos-store.test.ts,
 * chaos-kip848.test.ts): one seeded run with zombies and a broker restart, and what it must show.
 * Three files rather than one, so that each stays well inside the suite's per-file timeout.
 *
 * Invariant: under the chaos schedule (starts, SIGTERMs, SIGKILLs of member processes, and zombies:
 * members frozen with SIGSTOP past their session, woken with their work under way) and a broker
 * restart, the exactly-once deliveries hold: every acknowledged record has exactly one durable
 * outcome, counted where a user sees it (`transactional`: the output topic read with
 * read_committed; `store`: the committed rows in PostgreSQL). Handler runs may repeat after a
 * SIGKILL; their outcomes may not. On the classic group protocol and on KIP-848 (whose member
 * epochs are what store mode's claims and the transactions' offsets are fenced by).
 *
 * Store mode needs a PostgreSQL server the member processes share: BATON_TEST_POSTGRES (a
 * connection string; `.ci/run` sets it). The test makes a database of its own there and drops it.
 * Replay a failure with BATON_CHAOS_SEED=<seed>, or with the `baton chaos` line the test prints.
 */
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import pg from 'pg'
import { resolveChaosConfig, type ChaosConfig } from '../../src/lab/chaos/config.js'
import { membershipChanges, summaryLines, writeChaosReport } from '../../src/lab/chaos/report.js'
import { runChaos } from '../../src/lab/chaos/run.js'

export const SEED = process.env.BATON_CHAOS_SEED === undefined ? Math.floor(Math.random() * 0xffffffff) : Number(process.env.BATON_CHAOS_SEED)
export type GroupProtocol = ChaosConfig['groupProtocol']
export const postgresUrl = process.env.BATON_TEST_POSTGRES
if (process.env.BATON_REQUIRE_POSTGRES === '1' && postgresUrl === undefined) {
  throw new Error('BATON_REQUIRE_POSTGRES=1 but BATON_TEST_POSTGRES is not set: give a PostgreSQL connection string')
}

export async function chaosRun(t: TestContext, options: Pick<ChaosConfig, 'delivery' | 'store' | 'mode' | 'groupProtocol'>): Promise<void> {
  console.log(`chaos ${options.delivery}, ${options.mode} mode, ${options.groupProtocol} protocol: seed ${SEED} (replay: BATON_CHAOS_SEED=${SEED})`)
  const outDir = mkdtempSync(join(tmpdir(), `baton-chaos-${options.delivery}-${options.mode}-${options.groupProtocol}-`))
  const config = resolveChaosConfig({ ...options, outDir, seed: SEED, zombies: true, changes: 10, recordsPerSecond: 150, gapMinMs: 1_000, gapMaxMs: 2_500, drainTimeoutMs: 90_000 })
  const result = await runChaos(config)
  const report = writeChaosReport(result)
  for (const line of summaryLines(result)) t.diagnostic(line)
  const actions = result.changes.map((c) => c.action)
  assert.ok(actions.includes('broker-restart'), 'the broker was restarted')
  assert.ok(actions.includes('sigkill') || actions.includes('sigterm'), 'members were stopped')
  assert.equal(membershipChanges(result), config.changes, 'every scheduled membership change was made, none skipped')
  assert.equal(result.account.countedFrom, 'outcomes')
  assert.ok(result.account.produced > 0, 'records were written')
  assert.deepEqual(result.account.lost, [], `no record without an outcome (report: ${report})`)
  assert.deepEqual(
    result.account.duplicates.map((d) => `${d.id}: ${d.effects.map((e) => `${e.member}@${e.offset}`).join(', ')}; ${d.because.join('; ')}`),
    [],
    `no outcome duplicated (report: ${report})`,
  )
  assert.deepEqual(result.failures, [])
  // Redone work nothing explains is allowed (no outcome was duplicated), but worth a look: a
  // graceful hand-off should redo nothing. The run's files stay for that.
  const redone = result.account.redone.unexplained
  for (const d of redone.slice(0, 5)) t.diagnostic(`redone, unexplained: id ${d.id} partition ${d.partition}: ${d.because.join('; ')}`)
  if (redone.length > 0) t.diagnostic(`${redone.length} records redone without a SIGKILL, session loss or zombie behind them; files kept in ${outDir}`)
  else rmSync(outDir, { recursive: true, force: true })
}


/** A store run on PostgreSQL in a database of its own, made for it and dropped after. */
export async function storeRun(t: TestContext, groupProtocol: GroupProtocol): Promise<void> {
  const name = `baton_chaos_${randomUUID().replaceAll('-', '')}`
  const admin = new pg.Client({ connectionString: postgresUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
    const url = new URL(postgresUrl!)
    url.pathname = `/${name}`
    await chaosRun(t, { delivery: 'store', store: url.toString(), mode: 'partition', groupProtocol })
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  }
}

export const NO_POSTGRES = postgresUrl === undefined ? 'set BATON_TEST_POSTGRES to a PostgreSQL connection string to run this' : false
