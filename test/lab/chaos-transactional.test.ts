/**
 * Invariant: transactional delivery on the classic protocol, partition and key mode, outputs each record exactly once to read_committed readers,
 * under starts, SIGTERMs, SIGKILLs, zombies and a broker restart. What a run must show, and how to
 * replay one, is in chaos-exactly-once-helpers.ts.
 */
import { describe, it } from 'node:test'
import { chaosRun, SEED } from './chaos-exactly-once-helpers.js'

describe(`chaos, transactional delivery (seed ${SEED})`, () => {
  for (const mode of ['partition', 'key'] as const) {
    it(`transactional, ${mode} mode, classic protocol: 10 changes with zombies and a broker restart, each record output exactly once to read_committed readers`, async (t) => {
      await chaosRun(t, { delivery: 'transactional', store: undefined, mode, groupProtocol: 'classic' })
    })
  }
})
