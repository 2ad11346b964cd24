/**
 * Invariant: baton's group membership works against a group coordinator baton did not write —
 * librdkafka's mock cluster: two members split the auto-created partitions without overlap, every
 * record is consumed, and after one member leaves the other resumes from the committed offsets.
 *
 * The mock makes a member joining a stable group wait about session.timeout.ms − 1 s, so the
 * session timeout is kept at its minimum; and it cannot parse the flexible versions of the group
 * APIs it advertises, so the test pins the classic ones with the client's `maxApiVersions`.
 */
import { describe, it } from 'node:test'
import { runTakeoverScenario } from './helpers/takeover-scenario.js'

describe("baton's group membership against librdkafka's mock cluster", () => {
  it('two members split the partitions, then one takes over at the committed offsets', async () => {
    await runTakeoverScenario({
      topic: 'mock-group',
      consumer: {
        groupId: 'baton-on-mock',
        // The mock advertises flexible versions of the group APIs but parses them the classic way
        // (array counts as int32, LeaveGroup without its v3 member list): pin the last classic ones.
        maxApiVersions: { JoinGroup: 5, SyncGroup: 3, Heartbeat: 3, LeaveGroup: 2 },
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 500,
      },
    })
  })
})
