/**
 * Invariant: baton's KIP-848 member (groupProtocol 'consumer') works against a consumer group
 * coordinator baton did not write, librdkafka's mock cluster: two members split the auto-created
 * partitions without overlap, commits under their member epochs are accepted, and after one leaves
 * the other takes over from the committed offsets, nothing read twice.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runTakeoverScenario } from './helpers/takeover-scenario.js'
import { errorLogger } from '../../src/client/index.js'

describe("baton's KIP-848 member against librdkafka's mock cluster", () => {
  it('two members split the partitions, then one takes over at the committed offsets', async () => {
    const errors: Error[] = []
    await runTakeoverScenario({
      topic: 'mock-kip848',
      consumer: { groupId: 'baton-kip848-on-mock', groupProtocol: 'consumer', logger: errorLogger((e) => void errors.push(e)) },
      waitMs: { firstOwner: 60_000, bothOwners: 90_000, takeover: 90_000, allRecords: 60_000 },
    })
    assert.deepEqual(errors.map((e) => e.message), [])
  })
})
