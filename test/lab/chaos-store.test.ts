/**
 * Invariant: store delivery on PostgreSQL, classic protocol, leaves each record exactly one committed row,
 * under starts, SIGTERMs, SIGKILLs, zombies and a broker restart. What a run must show, and how to
 * replay one, is in chaos-exactly-once-helpers.ts.
 */
import { describe, it } from 'node:test'
import { NO_POSTGRES, SEED, storeRun } from './chaos-exactly-once-helpers.js'

describe(`chaos, store delivery (seed ${SEED})`, () => {
  it('store on PostgreSQL, classic protocol: 10 changes with zombies and a broker restart, each record one committed row', { skip: NO_POSTGRES }, async (t) => {
    await storeRun(t, 'classic')
  })
})
