/**
 * Membership flows against the embedded broker's group coordinator, on a manual clock shared by
 * both. The invariants: hooks run in order and are awaited; onRevoke runs while the generation still
 * accepts commits; ownership lost to fencing or eviction goes through onLost, never onRevoke;
 * heartbeats keep going while hooks run.
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { rangeAssignor } from '../../../src/client/membership/assignors/index.js'
import { decodeSubscription } from '../../../src/client/membership/consumer-protocol.js'
import { CommitFailedError, MembershipError, RebalanceHookTimeoutError } from '../../../src/client/membership/errors.js'
import type { GroupMemberOptions } from '../../../src/client/membership/member.js'
import { KafkaErrorCode } from '../../../src/protocol/errors/kafka-errors.js'
import { Heartbeat, OffsetCommit, OffsetFetch, SyncGroup, type JoinGroupRequest, type OffsetCommitRequest } from '../../../src/protocol/generated/index.js'
import type { TopicPartitions } from '../../../src/client/membership/topic-partitions.js'
import { settle } from './fake-timers.js'
import { eventually, GROUP, Harness, HEARTBEAT_MS, labels, REBALANCE_MS, SESSION_MS, waitForState } from './membership-helpers.js'

let h: Harness
beforeEach(async () => {
  h = await Harness.start()
})
afterEach(async () => {
  await h.close()
})

function joins(): JoinGroupRequest[] {
  return h.wire.requests('JoinGroup') as JoinGroupRequest[]
}

function commitRequests(): OffsetCommitRequest[] {
  return h.wire.requests('OffsetCommit') as OffsetCommitRequest[]
}

/** The generation each OffsetCommit was sent under. */
function commitGenerations(): number[] {
  return commitRequests().map((r) => r.generationIdOrMemberEpoch)
}

/** What the coordinator stored for `orders`, read back through `member`: [partition, offset, metadata] where something was. */
async function stored(member: ReturnType<Harness['member']>['member']): Promise<[number, bigint, string | null][]> {
  const all = [0, 1, 2, 3].map((partition) => ({ topic: 'orders', partition }))
  return (await member.committed(all)).flatMap((c): [number, bigint, string | null][] => (c.offset === null ? [] : [[c.partition, c.offset, c.metadata]]))
}

/** Two members of one group, both stable with half the partitions each. */
async function stableGroupOfTwo(options: Partial<GroupMemberOptions> = {}): Promise<{ a: ReturnType<Harness['member']>; b: ReturnType<Harness['member']> }> {
  const a = h.member(options)
  a.member.subscribe(['orders'])
  await waitForState(a.member, 'stable')
  const b = h.member(options)
  b.member.subscribe(['orders'])
  await eventually(h.timers, () => a.member.state === 'stable' && b.member.state === 'stable' && b.member.assignment().length > 0 && a.member.assignment().length > 0)
  return { a, b }
}

/**
 * The coordinator refuses the next OffsetCommit with `errorCode` (the broker's fault injection), and
 * the refusal stays in transit until the returned function is called; later commits follow the
 * coordinator's rules.
 */
function holdNextCommit(errorCode: number): () => Promise<void> {
  h.broker.faults.failNext(OffsetCommit, errorCode)
  const held = h.wire.hold(OffsetCommit, { limit: 1 })
  return async () => {
    // The broker answers on its own turns of the event loop; the refusal must be in transit by now.
    await settle()
    assert.equal(held.held, 1, 'the commit was refused and its answer held')
    held.release()
  }
}

type Member = ReturnType<Harness['member']>

/** a asks to rejoin and has sent its JoinGroup, which the coordinator holds until b rejoins too. */
async function rejoining(a: Member): Promise<void> {
  a.member.requestRejoin('test')
  await waitForState(a.member, 'joining')
}

/**
 * a and b stable; a commits `offset` for its first partition, the coordinator refuses it with
 * `errorCode`, and the refusal reaches a once `meanwhile` has happened (by default: a rejoining).
 * Resolves once the commit settled: with a, its generation when it asked, the partition, and the
 * commit's error (undefined when it was stored in the end).
 */
async function commitRefusedDuring(
  errorCode: number,
  offset: bigint,
  options: { group?: Partial<GroupMemberOptions>; meanwhile?: (a: Member, before: number) => Promise<void> } = {},
): Promise<{ a: Member; before: number; partition: number; error: unknown }> {
  const { a } = await stableGroupOfTwo(options.group)
  const before = a.member.generationId
  const partition = a.member.assignment()[0]!.partitions[0]!
  const release = holdNextCommit(errorCode)
  const outcome = settledOf(a.member.commit([{ topic: 'orders', partition, offset }]))
  await (options.meanwhile ?? rejoining)(a, before)
  await release()
  await eventually(h.timers, () => outcome.settled)
  return { a, before, partition, error: outcome.error }
}

/** A promise's outcome, readable without awaiting it (the fake clock must be advanced meanwhile). */
function settledOf(promise: Promise<unknown>): { settled: boolean; error: unknown } {
  const outcome: { settled: boolean; error: unknown } = { settled: false, error: undefined }
  promise.then(
    () => void (outcome.settled = true),
    (error: unknown) => {
      outcome.error = error
      outcome.settled = true
    },
  )
  return outcome
}

describe('joining', () => {
  it('joins with the MEMBER_ID_REQUIRED round trip, leads, and assigns itself every partition', async () => {
    const { member, calls } = h.member()
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    assert.notEqual(member.memberId, '')
    assert.deepEqual(joins().map((j) => j.memberId), ['', member.memberId])
    assert.equal(member.generationId, 1)
    assert.ok(member.isLeader)
    assert.deepEqual(calls, [{ hook: 'onAssign', partitions: ['orders-0', 'orders-1', 'orders-2', 'orders-3'], generationId: 1 }])
  })

  it('sends its subscription, owned partitions and generation in the consumer protocol', async () => {
    const { member } = h.member()
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    member.requestRejoin('test')
    await eventually(h.timers, () => joins().length === 3)
    const sub = decodeSubscription(Buffer.from(joins()[2]!.protocols[0]!.metadata))
    assert.deepEqual(sub.topics, ['orders'])
    assert.deepEqual(sub.ownedPartitions, [{ topic: 'orders', partitions: [0, 1, 2, 3] }])
    assert.equal(sub.generationId, 1)
  })

  it('a static member sends its instance id and does not send LeaveGroup on close', async () => {
    const { member } = h.member({ groupInstanceId: 'instance-a' })
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    // A static member needs no MEMBER_ID_REQUIRED round trip (KIP-345): one join.
    assert.deepEqual(joins().map((j) => j.groupInstanceId), ['instance-a'])
    await member.close()
    assert.equal(h.wire.requests('LeaveGroup').length, 0)
  })
})

describe('eager rebalance', () => {
  it('commits inside onRevoke under the old generation, then rejoins', async () => {
    const ref: { first?: ReturnType<Harness['member']>['member'] } = {}
    const committed: number[] = []
    const a = h.member({
      assignors: [rangeAssignor],
      hooks: {
        onRevoke: async () => {
          await ref.first!.commit([{ topic: 'orders', partition: 0, offset: 42n, metadata: 'from onRevoke' }])
          committed.push(ref.first!.generationId)
        },
      },
    })
    ref.first = a.member
    a.member.subscribe(['orders'])
    await waitForState(a.member, 'stable')
    const b = h.member({ assignors: [rangeAssignor] })
    b.member.subscribe(['orders'])
    await eventually(h.timers, () => a.member.state === 'stable' && b.member.state === 'stable' && a.member.generationId === 2)
    assert.deepEqual(committed, [1])
    assert.deepEqual(commitGenerations(), [1])
    assert.deepEqual(await stored(b.member), [[0, 42n, 'from onRevoke']])
    assert.equal(a.member.assignment()[0]!.partitions.length + b.member.assignment()[0]!.partitions.length, 4)
  })

  it('waits for a slow onRevoke before rejoining, heartbeating all the while', async () => {
    let release: (() => void) | undefined
    const a = h.member({ assignors: [rangeAssignor], hooks: { onRevoke: () => new Promise<void>((resolve) => (release = resolve)) } })
    a.member.subscribe(['orders'])
    await waitForState(a.member, 'stable')
    const b = h.member({ assignors: [rangeAssignor] })
    b.member.subscribe(['orders'])
    await eventually(h.timers, () => a.member.state === 'revoking')
    const joinsBefore = joins().filter((j) => j.memberId === a.member.memberId).length
    const beatsBefore = a.member.heartbeatsSent
    await h.timers.advanceBy(HEARTBEAT_MS, 20)
    assert.equal(a.member.state, 'revoking', 'still revoking while the hook runs')
    assert.equal(joins().filter((j) => j.memberId === a.member.memberId).length, joinsBefore, 'no JoinGroup before onRevoke settles')
    assert.ok(a.member.heartbeatsSent >= beatsBefore + 15, `heartbeats continued: ${a.member.heartbeatsSent - beatsBefore}`)
    release!()
    await eventually(h.timers, () => a.member.state === 'stable' && b.member.state === 'stable')
    assert.equal(a.member.generationId, 2)
  })

  it('goes on without an onRevoke that overruns the rebalance timeout, and says so', async () => {
    const a = h.member({ assignors: [rangeAssignor], hooks: { onRevoke: () => new Promise<void>(() => {}) } })
    a.member.subscribe(['orders'])
    await waitForState(a.member, 'stable')
    a.member.requestRejoin('test')
    await waitForState(a.member, 'revoking')
    await h.timers.advance(REBALANCE_MS - 1)
    assert.equal(a.member.state, 'revoking')
    await eventually(h.timers, () => a.member.state === 'stable')
    const timeout = h.errors.find((e) => e instanceof RebalanceHookTimeoutError)
    assert.ok(timeout instanceof RebalanceHookTimeoutError)
    assert.equal(timeout.hook, 'onRevoke')
    assert.equal(timeout.code, 'GROUP_HOOK_TIMEOUT')
  })
})

describe('cooperative rebalance (KIP-429)', () => {
  it('revokes only what moves, and a partition never has two owners', async () => {
    const owners = new Map<string, string>()
    const track = (name: string) => ({
      onAssign: (ps: { topic: string; partitions: readonly number[] }[]) => {
        for (const g of ps) for (const p of g.partitions) {
          const key = `${g.topic}-${p}`
          assert.equal(owners.get(key), undefined, `${key} assigned to ${name} while ${owners.get(key)} owns it`)
          owners.set(key, name)
        }
      },
      onRevoke: (ps: { topic: string; partitions: readonly number[] }[]) => {
        for (const g of ps) for (const p of g.partitions) owners.delete(`${g.topic}-${p}`)
      },
    })
    const a = h.member({ hooks: track('a') })
    a.member.subscribe(['orders'])
    await waitForState(a.member, 'stable')
    const b = h.member({ hooks: track('b') })
    b.member.subscribe(['orders'])
    await eventually(h.timers, () => b.member.assignment().length > 0 && a.member.state === 'stable' && b.member.state === 'stable')
    assert.equal(a.member.protocol, 'cooperative')
    assert.deepEqual(
      [a.member.assignment()[0]!.partitions.length, b.member.assignment()[0]!.partitions.length],
      [2, 2],
    )
    // Two rounds: the first revoked half of a's partitions, the second gave them to b.
    assert.deepEqual([a.member.generationId, b.member.generationId], [3, 3])
    assert.equal(owners.size, 4)
  })
})

describe('losing membership', () => {
  it('fencing leads to onLost, not onRevoke, and stops the member', async () => {
    const { member, calls } = h.member({ groupInstanceId: 'static-1' })
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    // A second process with the same instance id takes the membership over (KIP-345).
    const usurper = h.member({ groupInstanceId: 'static-1' })
    usurper.member.subscribe(['orders'])
    await eventually(h.timers, () => member.state === 'closed')
    assert.deepEqual(calls.map((c) => c.hook), ['onAssign', 'onLost'])
    assert.equal(member.failure?.code, 'GROUP_FATAL')
    assert.deepEqual(member.assignment(), [])
  })

  it('an unknown member id leads to onLost, then a fresh join', async () => {
    const { member, calls } = h.member()
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    const first = member.memberId
    h.broker.faults.failNext(Heartbeat, KafkaErrorCode.UNKNOWN_MEMBER_ID)
    await eventually(h.timers, () => calls.length === 3 && member.state === 'stable')
    assert.deepEqual(calls.map((c) => c.hook), ['onAssign', 'onLost', 'onAssign'])
    assert.deepEqual(joins().slice(-2).map((j) => j.memberId), ['', member.memberId], 'joined afresh, without its old id')
    assert.notEqual(member.memberId, first)
  })

  it('a session that expires without heartbeats leads to onLost, before the coordinator would evict', async () => {
    let lostAt = -1
    const { member } = h.member({ hooks: { onLost: () => void (lostAt = h.timers.now()) } })
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    await h.timers.advanceBy(HEARTBEAT_MS, 3)
    // Every heartbeat sent up to now succeeded; the coordinator may evict from SESSION_MS after the last one.
    const lastGood = h.timers.now()
    h.wire.fail(Heartbeat, () => new Error('unreachable'))
    await h.timers.advanceBy(HEARTBEAT_MS / 4, (SESSION_MS / HEARTBEAT_MS + 2) * 4)
    assert.ok(lostAt > 0, 'onLost was called')
    assert.ok(lostAt <= lastGood + SESSION_MS, `lost at ${lostAt}, coordinator deadline ${lastGood + SESSION_MS}`)
    assert.ok(lostAt >= lastGood + SESSION_MS - 2 * HEARTBEAT_MS, `not much earlier than needed (${lostAt})`)
  })
})

describe('the session deadline', () => {
  it('counts from when the SyncGroup was sent, not answered: a member that dies at once gives its partitions up before the coordinator hands them on', async () => {
    const owners = new Map<string, string>()
    const violations: string[] = []
    let lostAt = -1
    const track = (name: string) => ({
      onAssign: (ps: TopicPartitions[]) => {
        for (const key of labels(ps)) {
          if (owners.has(key)) violations.push(`${key} assigned to ${name} while ${owners.get(key)} owns it`)
          owners.set(key, name)
        }
      },
      onRevoke: (ps: TopicPartitions[]) => void labels(ps).forEach((key) => owners.delete(key)),
      onLost: (ps: TopicPartitions[]) => {
        lostAt = h.timers.now()
        labels(ps).forEach((key) => owners.delete(key))
      },
    })
    const a = h.member({ assignors: [rangeAssignor], hooks: track('a') })
    a.member.subscribe(['orders'])
    await waitForState(a.member, 'stable')
    // a's next SyncGroup is answered when it arrives, but the answer takes 300 ms to come back.
    const sync = h.wire.hold(SyncGroup, { matches: (_, from) => from === a.transport.clientId, limit: 1 })
    const b = h.member({ assignors: [rangeAssignor], hooks: track('b') })
    b.member.subscribe(['orders'])
    await eventually(h.timers, () => sync.held === 1)
    const syncSentAt = h.wire.log.findLast((l) => l.api === 'SyncGroup' && l.from === a.transport.clientId)!.at
    await h.timers.advance(300)
    // The answer arrives, and a's process dies right after reading it: no heartbeat ever gets through.
    a.transport.crash()
    sync.release()
    await eventually(h.timers, () => b.member.state === 'stable' && labels(b.member.assignment()).length === 4, 50)
    assert.ok(lostAt >= 0, 'a gave its partitions up')
    assert.ok(lostAt <= syncSentAt + SESSION_MS, `a gave up at ${lostAt - syncSentAt} ms after its SyncGroup went out; the coordinator may evict it from ${SESSION_MS} ms`)
    assert.deepEqual(violations, [], 'no partition had two owners')
  })
})

describe('offset commits', () => {
  it('a commit refused with a rebalance error fails as such and is not resent', async () => {
    const { member } = h.member()
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    h.broker.faults.failNext(OffsetCommit, KafkaErrorCode.ILLEGAL_GENERATION)
    const error = await member.commit([{ topic: 'orders', partition: 0, offset: 5n }]).then(() => undefined, (e: unknown) => e)
    assert.ok(error instanceof CommitFailedError)
    assert.equal(error.code, 'GROUP_COMMIT_REBALANCE')
    assert.equal(error.kafkaError?.errorCode, KafkaErrorCode.ILLEGAL_GENERATION)
    assert.equal(commitRequests().length, 1)
  })

  it('a commit asked for while the member rejoins goes out at once under the generation it holds, which the coordinator still accepts', async () => {
    const { a } = await stableGroupOfTwo()
    const before = a.member.generationId
    a.member.requestRejoin('test')
    // a's JoinGroup waits at the coordinator until b rejoins: the group is preparing the rebalance,
    // and the generation a holds is still the group's.
    await waitForState(a.member, 'joining')
    const partition = a.member.assignment()[0]!.partitions[0]!
    const outcome = settledOf(a.member.commit([{ topic: 'orders', partition, offset: 11n }]))
    await eventually(h.timers, () => outcome.settled)
    assert.equal(outcome.error, undefined)
    assert.deepEqual(commitGenerations(), [before])
    assert.deepEqual(await stored(a.member), [[partition, 11n, null]])
  })

  for (const [name, errorCode] of [
    ['ILLEGAL_GENERATION', KafkaErrorCode.ILLEGAL_GENERATION],
    ['REBALANCE_IN_PROGRESS', KafkaErrorCode.REBALANCE_IN_PROGRESS],
  ] as const) {
    it(`a commit refused with ${name} while the member rebalances is not taken as lost; it goes out again under the new generation`, async () => {
      const { a, before, partition, error } = await commitRefusedDuring(errorCode, 12n)
      assert.equal(error, undefined)
      assert.deepEqual(commitGenerations(), [before, a.member.generationId], 'refused under the old generation, resent once under the new one')
      assert.deepEqual(await stored(a.member), [[partition, 12n, null]])
      assert.ok(!a.calls.some((c) => c.hook === 'onLost'), 'the rebalance took nothing from the member')
    })
  }

  it('does not carry a commit into the next generation for partitions given up meanwhile (eager)', async () => {
    // Eager: everything is revoked before the member rejoins, so the partition may go to b.
    const { a, before, error } = await commitRefusedDuring(KafkaErrorCode.ILLEGAL_GENERATION, 7n, { group: { assignors: [rangeAssignor] } })
    assert.ok(error instanceof CommitFailedError)
    assert.equal(error.code, 'GROUP_COMMIT_REBALANCE')
    assert.equal(error.kafkaError?.errorCode, KafkaErrorCode.ILLEGAL_GENERATION)
    assert.deepEqual(commitGenerations(), [before])
    assert.deepEqual(await stored(a.member), [])
  })

  it('does not carry a commit into the next generation after the membership was lost meanwhile', async () => {
    const { error } = await commitRefusedDuring(KafkaErrorCode.ILLEGAL_GENERATION, 8n, {
      meanwhile: async (a) => {
        // a's heartbeats stop reaching the coordinator: its session ends, and so does its membership.
        h.wire.fail(Heartbeat, () => new Error('unreachable'), (_, from) => from === a.transport.clientId)
        await eventually(h.timers, () => a.calls.some((c) => c.hook === 'onLost'))
      },
    })
    assert.ok(error instanceof CommitFailedError)
    assert.equal(error.code, 'GROUP_COMMIT_REBALANCE')
    assert.equal(commitRequests().length, 1)
  })

  it('a commit failed transiently while the member rejoins is retried, and stored once, under a generation the coordinator accepts', async () => {
    const { a, before, partition, error } = await commitRefusedDuring(KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 12n)
    assert.equal(error, undefined)
    const generations = commitGenerations()
    assert.equal(generations[0], before)
    assert.ok(generations.every((g) => g === before || g === a.member.generationId), `only the held and the new generation: ${generations.join(', ')}`)
    assert.deepEqual(await stored(a.member), [[partition, 12n, null]])
    assert.ok(!a.calls.some((c) => c.hook === 'onLost'), 'the rebalance took nothing from the member')
  })

  it('a commit refused after the rebalance completed is resent at once under the new generation when the member kept its partitions', async () => {
    const { a, partition, before, error } = await commitRefusedDuring(KafkaErrorCode.ILLEGAL_GENERATION, 13n, {
      meanwhile: async (a, before) => {
        a.member.requestRejoin('test')
        await eventually(h.timers, () => a.member.state === 'stable' && a.member.generationId > before)
      },
    })
    assert.equal(error, undefined)
    assert.deepEqual(commitGenerations(), [before, a.member.generationId])
    assert.deepEqual(await stored(a.member), [[partition, 13n, null]])
  })

  it('commitAsync does not wait out a rebalance: refused because of one, it fails at once and is not resent', async () => {
    const { a } = await stableGroupOfTwo()
    const partition = a.member.assignment()[0]!.partitions[0]!
    const release = holdNextCommit(KafkaErrorCode.REBALANCE_IN_PROGRESS)
    const result = new Promise<CommitFailedError | null>((resolve) => a.member.commitAsync([{ topic: 'orders', partition, offset: 3n }], resolve))
    await rejoining(a)
    await release()
    const error = await result
    assert.ok(error instanceof CommitFailedError)
    assert.equal(error.code, 'GROUP_COMMIT_REBALANCE')
    assert.equal(commitRequests().length, 1)
  })

  it('reads committed offsets back, null where nothing was committed, at every OffsetFetch version', async () => {
    const { member } = h.member()
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    await member.commit([{ topic: 'orders', partition: 0, offset: 5n, metadata: 'm' }])
    for (const version of [1, 7, 8, OffsetFetch.maxStableVersion]) {
      h.wire.versions.set(OffsetFetch.apiKey, version)
      const got = await member.committed([{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }])
      assert.deepEqual(got.map((c) => [c.partition, c.offset, c.metadata]), [[0, 5n, 'm'], [1, null, null]], `OffsetFetch v${version}`)
    }
  })

  it('waits out a transaction still committing offsets (UNSTABLE_OFFSET_COMMIT, KIP-447)', async () => {
    const { member } = h.member()
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    h.broker.faults.failNext(OffsetFetch, KafkaErrorCode.UNSTABLE_OFFSET_COMMIT, { count: 2 })
    const pending = member.committed([{ topic: 'orders', partition: 0 }])
    await h.timers.advanceBy(100, 5)
    assert.deepEqual((await pending).map((c) => c.offset), [null])
    const fetches = h.wire.requests('OffsetFetch') as { requireStable: boolean; groupId: string }[]
    assert.equal(fetches.length, 3)
    assert.ok(fetches.every((f) => f.requireStable && f.groupId === GROUP), 'every fetch asks for stable offsets')
  })

  it('refuses malformed offsets before sending anything', async () => {
    const { member } = h.member()
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    await assert.rejects(member.commit([{ topic: 'orders', partition: 0, offset: -1n }]), (e: unknown) => e instanceof RangeError && e.message.includes('offset'))
    await assert.rejects(member.commit([{ topic: 'orders', partition: 1.5, offset: 1n }]), RangeError)
    assert.equal(commitRequests().length, 0)
  })

  it('refuses to commit while not in the group', async () => {
    const { member } = h.member()
    const error = await member.commit([{ topic: 'orders', partition: 0, offset: 1n }]).then(() => undefined, (e: unknown) => e)
    assert.ok(error instanceof CommitFailedError)
    assert.equal(error.code, 'GROUP_COMMIT_NOT_MEMBER')
  })

  it('commitAsync reports the outcome to its callback', async () => {
    const { member } = h.member()
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    const result = await new Promise<CommitFailedError | null>((resolve) => member.commitAsync([{ topic: 'orders', partition: 2, offset: 3n }], resolve))
    assert.equal(result, null)
    assert.deepEqual(await stored(member), [[2, 3n, null]])
  })
})

describe('leaving and metadata changes', () => {
  it('close revokes owned partitions, then sends LeaveGroup', async () => {
    const { member, calls } = h.member()
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    await member.close()
    assert.deepEqual(calls.map((c) => c.hook), ['onAssign', 'onRevoke'])
    assert.equal(member.state, 'closed')
    assert.equal(h.wire.requests('LeaveGroup').length, 1)
    assert.deepEqual(await h.groupMembers(), [], 'the coordinator let the member go')
  })

  it('rejoins when a new topic matches a pattern subscription', async () => {
    const { member } = h.member()
    member.subscribe(/^ord/)
    await waitForState(member, 'stable')
    h.broker.createTopic('ordinals', { partitions: 2 })
    await member.refreshMetadata()
    await eventually(h.timers, () => member.generationId === 2 && member.state === 'stable')
    assert.deepEqual(member.assignment().map((g) => g.topic), ['orders', 'ordinals'])
  })

  it('the leader rejoins when a topic gains partitions', async () => {
    const { member } = h.member()
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    await h.growTopic('orders', 6)
    await member.refreshMetadata()
    await eventually(h.timers, () => member.generationId === 2 && member.state === 'stable')
    assert.equal(member.assignment()[0]!.partitions.length, 6)
  })
})

describe('application liveness (maxPollIntervalMs)', () => {
  it('leaves the group when the application stops polling, and rejoins at the next poll', async () => {
    const { member, calls } = h.member({ maxPollIntervalMs: 1_000 })
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    await h.timers.advanceBy(HEARTBEAT_MS, 5)
    member.poll()
    await h.timers.advanceBy(HEARTBEAT_MS, 9)
    assert.equal(member.state, 'stable', 'polled in time')
    await h.timers.advanceBy(HEARTBEAT_MS, 3)
    assert.equal(member.state, 'lost')
    assert.deepEqual(calls.map((c) => c.hook), ['onAssign', 'onLost'])
    assert.equal(h.wire.requests('LeaveGroup').length, 1)
    const timeout = h.errors.find((e) => e instanceof MembershipError && e.code === 'GROUP_POLL_TIMEOUT')
    assert.ok(timeout, 'the member says why it left')
    await h.timers.advanceBy(HEARTBEAT_MS, 20)
    assert.equal(member.state, 'lost', 'waits for the application before rejoining')
    member.poll()
    await eventually(h.timers, () => member.state === 'stable')
    assert.deepEqual(calls.map((c) => c.hook), ['onAssign', 'onLost', 'onAssign'])
  })

  it('is off unless maxPollIntervalMs is set', async () => {
    const { member } = h.member()
    member.subscribe(['orders'])
    await waitForState(member, 'stable')
    await h.timers.advanceBy(HEARTBEAT_MS, 100)
    assert.equal(member.state, 'stable')
  })
})
