/**
 * End to end: baton's group members over real sockets against the embedded broker's coordinator.
 * Invariants: two members split a topic with no partition owned by both at any moment; a commit
 * made in onRevoke is accepted under the generation that is ending; when one member leaves, the
 * other takes all partitions over; a static member restarted within its session timeout gets its
 * partitions back without a rebalance (KIP-345). With 3 nodes the coordinator is found through
 * FindCoordinator and may not be the bootstrap node. A member that crashes gives its partitions up
 * (onLost) before the coordinator evicts it and hands them to the other. The coordinator's error
 * answers: a transient one on a join or a commit is retried after looking the coordinator up again
 * (the commit within the same generation), a SyncGroup refused by a starting rebalance means
 * rejoining, losing nothing, and a newcomer sharing no protocol with the group stops with the Kafka
 * error while the group keeps its member. (The same coordinator on a manual clock, in process,
 * runs the flows that need exact timing: membership.test.ts, membership-errors.test.ts.)
 */
import { errorLogger } from '../../../src/net/logger.js'
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { rangeAssignor, roundRobinAssignor } from '../../../src/client/membership/assignors/index.js'
import { ClusterGroupTransport, ClusterMetadataSource } from '../../../src/client/membership/cluster-adapter.js'
import { GroupMember, type GroupMemberOptions } from '../../../src/client/membership/member.js'
import { flatten, type TopicPartitions } from '../../../src/client/membership/topic-partitions.js'
import { Cluster } from '../../../src/client/cluster.js'
import { resolveClientConfig } from '../../../src/client/config.js'
import { NetworkError } from '../../../src/net/errors.js'
import type { ApiSpec } from '../../../src/protocol/codec-runtime.js'
import type { BatonError } from '../../../src/protocol/errors/base.js'
import { KafkaError, KafkaErrorCode } from '../../../src/protocol/errors/kafka-errors.js'
import { JoinGroup, OffsetCommit, SyncGroup } from '../../../src/protocol/generated/index.js'


const PARTITIONS = 6
const WAIT_MS = 15_000

interface Running {
  member: GroupMember
  cluster: Cluster
  transport: CrashableTransport
}

/** The real transport, until crash(): then nothing reaches the broker, as if the process had died. */
class CrashableTransport extends ClusterGroupTransport {
  crashed = false
  /** How often the member forgot the coordinator (after NOT_COORDINATOR and the like). */
  coordinatorLostCalls = 0

  override coordinatorLost(): void {
    this.coordinatorLostCalls++
    super.coordinatorLost()
  }

  crash(): Promise<void> {
    this.crashed = true
    return this.close()
  }

  override send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: (version: number) => ReqInit): Promise<Res> {
    if (this.crashed) return Promise.reject(new NetworkError('NET_CONNECTION_LOST', { broker: 'crashed', api: api.name }, 'crashed'))
    return super.send(api, body)
  }
}

/** Re-checks `check` whenever `poke` is called (on every state change and hook call); fails after `ms`. */
class Condition {
  private pending: { check: () => boolean; resolve: () => void }[] = []

  poke(): void {
    for (const p of [...this.pending]) {
      if (!p.check()) continue
      this.pending = this.pending.filter((x) => x !== p)
      p.resolve()
    }
  }

  until(check: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    if (check()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = this.pending.filter((x) => x.check !== check)
        reject(new Error(`${what}: not within ${ms} ms`))
      }, ms)
      this.pending.push({
        check,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      })
    })
  }
}

for (const nodes of [1, 3]) describe(`group membership against the embedded broker (${nodes} node${nodes > 1 ? 's' : ''})`, () => {
  let broker: EmbeddedBroker
  const running: Running[] = []
  const errors: BatonError[] = []
  const condition = new Condition()
  /** Who owns each partition right now, by hooks; a second owner is an invariant violation. */
  let owners = new Map<string, string>()
  const violations: string[] = []

  function start(name: string, topic: string, groupId: string, options: Partial<GroupMemberOptions> = {}): GroupMember {
    const cluster = new Cluster(resolveClientConfig({ bootstrapServers: broker.bootstrap, clientId: name }))
    const transport = new CrashableTransport(cluster, groupId, 10_000)
    const keys = (ps: TopicPartitions[]) => flatten(ps).map((tp) => `${tp.topic}-${tp.partition}`)
    const member = new GroupMember({
      groupId,
      transport,
      metadata: new ClusterMetadataSource(cluster),
      sessionTimeoutMs: 6_000,
      rebalanceTimeoutMs: 10_000,
      heartbeatIntervalMs: 100,
      logger: errorLogger((e) => errors.push(e)),
      ...options,
      hooks: {
        onAssign: async (ps) => {
          for (const k of keys(ps)) {
            if (owners.has(k)) violations.push(`${k} assigned to ${name} while ${owners.get(k)} owns it`)
            owners.set(k, name)
          }
          await options.hooks?.onAssign?.(ps)
          condition.poke()
        },
        onRevoke: async (ps) => {
          await options.hooks?.onRevoke?.(ps)
          for (const k of keys(ps)) owners.delete(k)
          condition.poke()
        },
        onLost: async (ps) => {
          for (const k of keys(ps)) owners.delete(k)
          await options.hooks?.onLost?.(ps)
          condition.poke()
        },
      },
    })
    member.onStateChange(() => condition.poke())
    running.push({ member, cluster, transport })
    member.subscribe([topic])
    return member
  }

  async function stopAll(): Promise<void> {
    await Promise.all(running.splice(0).map(async (r) => {
      await r.member.close()
      await r.transport.close()
      await r.cluster.close()
    }))
    owners = new Map()
  }

  before(async () => {
    broker = await startBroker({ nodes, autoCreateTopics: false })
    broker.createTopic('eager-orders', { partitions: PARTITIONS })
    broker.createTopic('coop-orders', { partitions: PARTITIONS })
    broker.createTopic('static-orders', { partitions: PARTITIONS })
    broker.createTopic('crash-orders', { partitions: PARTITIONS })
    broker.createTopic('errors-orders', { partitions: PARTITIONS })
  })

  after(async () => {
    await stopAll()
    await broker.stop()
  })

  const count = (m: GroupMember): number => flatten(m.assignment()).length

  /** The group's committed offsets for a topic, read back through a member: [partition, offset, metadata]. */
  async function committed(member: GroupMember, topic: string): Promise<[number, bigint | null, string | null][]> {
    const all = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }))
    return (await member.committed(all)).map((c): [number, bigint | null, string | null] => [c.partition, c.offset, c.metadata])
  }
  const settled = (...ms: GroupMember[]): boolean => ms.every((m) => m.state === 'stable') && new Set(ms.map((m) => m.generationId)).size === 1

  it('eager (range): a commit in onRevoke succeeds under the ending generation; a leaving member hands over', async () => {
    const commits: { generation: number; error: unknown }[] = []
    const holder: { a?: GroupMember } = {}
    const a = start('a', 'eager-orders', 'eager-group', {
      assignors: [rangeAssignor],
      hooks: {
        onRevoke: async (ps) => {
          const generation = holder.a!.generationId
          const offsets = flatten(ps).map((tp) => ({ ...tp, offset: 10n, metadata: 'revoked' }))
          const error = await holder.a!.commit(offsets).then(() => null, (e: unknown) => e)
          commits.push({ generation, error })
        },
      },
    })
    holder.a = a
    await condition.until(() => a.state === 'stable' && count(a) === PARTITIONS, 'a owns everything')
    const b = start('b', 'eager-orders', 'eager-group', { assignors: [rangeAssignor] })
    await condition.until(() => settled(a, b) && count(a) === 3 && count(b) === 3, 'a and b split the topic')
    assert.equal(commits.length, 1)
    assert.equal(commits[0]!.error, null, `commit in onRevoke failed: ${String(commits[0]!.error)}`)
    assert.equal(commits[0]!.generation, a.generationId - 1)
    const stored = await committed(b, 'eager-orders')
    assert.deepEqual(stored, Array.from({ length: PARTITIONS }, (_, p) => [p, 10n, 'revoked']), 'the offsets committed in onRevoke are stored')
    await a.close()
    await condition.until(() => b.state === 'stable' && count(b) === PARTITIONS, 'b takes everything after a leaves')
    assert.deepEqual(violations, [])
    await stopAll()
  })

  it('cooperative-sticky: the joining member gets only moved partitions, never one still owned', async () => {
    const revoked: string[][] = []
    const a = start('a', 'coop-orders', 'coop-group', {
      hooks: { onRevoke: (ps) => void revoked.push(flatten(ps).map((tp) => `${tp.partition}`)) },
    })
    await condition.until(() => a.state === 'stable' && count(a) === PARTITIONS, 'a owns everything')
    const b = start('b', 'coop-orders', 'coop-group')
    await condition.until(() => settled(a, b) && count(a) === 3 && count(b) === 3, 'a and b split the topic')
    assert.equal(revoked.length, 1, 'a revoked once')
    assert.equal(revoked[0]!.length, 3, 'a revoked only the three partitions that moved')
    assert.deepEqual(violations, [])
    assert.deepEqual(errors.filter((e) => e.code !== 'GROUP_LEAVE_FAILED'), [])
    await stopAll()
  })

  it('static membership: a restart within the session timeout keeps the partitions, with no rebalance', async () => {
    const a = start('a', 'static-orders', 'static-group', { groupInstanceId: 'instance-a', assignors: [rangeAssignor] })
    const b = start('b', 'static-orders', 'static-group', { groupInstanceId: 'instance-b', assignors: [rangeAssignor] })
    await condition.until(() => settled(a, b) && count(a) === 3 && count(b) === 3, 'a and b split the topic')
    const before = flatten(a.assignment())
    const generation = b.generationId
    const first = running.find((r) => r.member === a)!
    await a.close()
    await first.transport.close()
    await first.cluster.close()
    const again = start('a-again', 'static-orders', 'static-group', { groupInstanceId: 'instance-a', assignors: [rangeAssignor] })
    await condition.until(() => again.state === 'stable' && count(again) === 3, 'the restarted member is back')
    assert.deepEqual(flatten(again.assignment()), before)
    assert.equal(b.generationId, generation, 'the other member saw no rebalance')
    assert.equal(b.state, 'stable')
    assert.deepEqual(violations, [])
    await stopAll()
  })

  // Once is enough: it waits out a session timeout, and routing is covered by the tests above.
  if (nodes === 1) it('a member that crashes (no LeaveGroup) loses its partitions to the other after the session timeout, through onLost', async () => {
    const lost: string[] = []
    const a = start('a', 'crash-orders', 'crash-group', { hooks: { onLost: (ps) => void lost.push(...flatten(ps).map((tp) => `${tp.partition}`)) } })
    const b = start('b', 'crash-orders', 'crash-group')
    await condition.until(() => settled(a, b) && count(a) === 3 && count(b) === 3, 'a and b split the topic')
    const crashed = running.find((r) => r.member === a)!
    const before = flatten(a.assignment()).map((tp) => `${tp.partition}`)
    await crashed.transport.crash()
    await condition.until(() => b.state === 'stable' && count(b) === PARTITIONS, 'b takes over after the session timeout', 20_000)
    assert.deepEqual(lost, before, 'a reported its partitions lost, not revoked')
    const stored = await committed(b, 'crash-orders')
    assert.ok(stored.every(([, offset]) => offset === null), 'nothing was committed for lost partitions')
    assert.deepEqual(violations, [], 'a gave up its partitions before b was given them')
    await stopAll()
  })

  // The coordinator's error answers, from its fault injection: what the member does about each.
  it('retries a join after COORDINATOR_NOT_AVAILABLE, looking the coordinator up again', async () => {
    broker.faults.failNext(JoinGroup, KafkaErrorCode.COORDINATOR_NOT_AVAILABLE)
    const a = start('a', 'errors-orders', `join-refused-${nodes}`)
    await condition.until(() => a.state === 'stable' && count(a) === PARTITIONS, 'a joins after the refusal')
    assert.equal(running.find((r) => r.member === a)!.transport.coordinatorLostCalls, 1)
    await stopAll()
  })

  it('rejoins after SyncGroup answers REBALANCE_IN_PROGRESS, losing nothing', async () => {
    broker.faults.failNext(SyncGroup, KafkaErrorCode.REBALANCE_IN_PROGRESS)
    const hooks: string[] = []
    const a = start('a', 'errors-orders', `sync-refused-${nodes}`, { hooks: { onAssign: () => void hooks.push('onAssign'), onLost: () => void hooks.push('onLost') } })
    await condition.until(() => a.state === 'stable' && count(a) === PARTITIONS, 'a is assigned after the refusal')
    assert.deepEqual(hooks, ['onAssign'])
    await stopAll()
  })

  it('retries a commit that meets a moved coordinator, within the same generation', async () => {
    const a = start('a', 'errors-orders', `commit-refused-${nodes}`)
    await condition.until(() => a.state === 'stable' && count(a) === PARTITIONS, 'a owns everything')
    const generation = a.generationId
    broker.faults.failNext(OffsetCommit, KafkaErrorCode.NOT_COORDINATOR)
    await a.commit([{ topic: 'errors-orders', partition: 1, offset: 9n }])
    assert.equal(running.find((r) => r.member === a)!.transport.coordinatorLostCalls, 1)
    assert.equal(a.generationId, generation)
    assert.equal((await committed(a, 'errors-orders'))[1]?.[1], 9n)
    await stopAll()
  })

  it('stops a newcomer whose protocols the group does not share with the Kafka error, and the group keeps its member', async () => {
    const groupId = `no-common-protocol-${nodes}`
    const a = start('a', 'errors-orders', groupId, { assignors: [rangeAssignor] })
    await condition.until(() => a.state === 'stable' && count(a) === PARTITIONS, 'a owns everything')
    const newcomer = start('b', 'errors-orders', groupId, { assignors: [roundRobinAssignor] })
    await condition.until(() => newcomer.state === 'closed', 'the newcomer stops')
    const failure = newcomer.failure
    assert.ok(failure instanceof KafkaError, `failed with ${String(failure)}`)
    assert.equal(failure.errorCode, KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL)
    assert.ok(errors.includes(failure))
    assert.equal(a.state, 'stable')
    assert.equal(count(a), PARTITIONS)
    await stopAll()
  })
})
