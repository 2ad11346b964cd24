/**
 * Invariant: both exactly-once deliveries hold on KIP-848 (key mode for transactional, the harder one),
 * under starts, SIGTERMs, SIGKILLs, zombies and a broker restart. What a run must show, and how to
 * replay one, is in chaos-exactly-once-helpers.ts.
 */
import { describe, it } from 'node:test'
import { chaosRun, NO_POSTGRES, SEED, storeRun } from './chaos-exactly-once-helpers.js'

describe(`chaos, exactly-once deliveries on KIP-848 (seed ${SEED})`, () => {
  it('transactional, key mode, consumer protocol: 10 changes with zombies and a broker restart, each record output exactly once to read_committed readers', async (t) => {
    await chaosRun(t, { delivery: 'transactional', store: undefined, mode: 'key', groupProtocol: 'consumer' })
  })
  it('store on PostgreSQL, consumer protocol: 10 changes with zombies and a broker restart, each record one committed row', { skip: NO_POSTGRES }, async (t) => {
    await storeRun(t, 'consumer')
  })
})
